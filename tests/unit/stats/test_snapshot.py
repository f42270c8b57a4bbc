from __future__ import annotations

import msgspec

from actors.board import Board
from node.stats.figures import ChainFigures, StatsSnapshot, SystemFigures
from node.stats.snapshot import snapshot_from_board

SYSTEM = SystemFigures(cpu_count=2, cpu_percent=12.5, memory_used_bytes=1, memory_total_bytes=2,
                       disk_path="/data", disk_used_bytes=3, disk_total_bytes=4)


def busy_board() -> Board:
    board = Board()
    echo = board.container("echo")
    echo.state, echo.in_flight, echo.succeeded, echo.failed = "ready", 2, 5, 1
    echo.total_seconds, echo.restarts = 1.25, 1
    board.container("slow").state = "failed"
    board.jobs_running, board.onchain_running = 3, 1
    board.jobs_succeeded, board.jobs_failed = 7, 2
    board.actor_restarts["executor:echo"] = 2
    return board


def take(board: Board, *, chain: bool = False) -> StatsSnapshot:
    return snapshot_from_board(board, node_id="n1", version="1.4.0", chain_enabled=chain,
                               started_at=1000.0, now=1060.0)


def test_node_figures_come_from_the_board():
    snap = take(busy_board())
    assert (snap.jobs.running_offchain, snap.jobs.running_onchain) == (3, 1)
    assert (snap.jobs.succeeded, snap.jobs.failed) == (7, 2)
    assert [c.name for c in snap.containers] == ["echo", "slow"]
    echo = snap.containers[0]
    assert (echo.state, echo.in_flight, echo.succeeded, echo.failed) == ("ready", 2, 5, 1)
    assert (echo.busy_seconds, echo.restarts) == (1.25, 1)
    assert snap.containers[1].state == "failed"
    assert snap.actor_restarts == {"executor:echo": 2}
    assert snap.uptime_seconds == 60.0 and snap.taken_at == 1060.0


def test_snapshot_is_a_copy_not_a_view():
    board = busy_board()
    snap = take(board)
    board.jobs_succeeded += 1
    board.container("echo").succeeded += 1
    board.actor_restarts["router"] = 1
    assert snap.jobs.succeeded == 7 and snap.containers[0].succeeded == 5
    assert "router" not in snap.actor_restarts


def test_chain_figures_only_when_the_chain_is_enabled():
    board = busy_board()
    board.chain_head_block, board.chain_sync_lag_blocks = 120, 3
    board.wallet_balance_wei, board.wallet_nonce = 10**18, 4
    board.transactions_sent, board.transactions_failed = 9, 1
    assert take(board).chain is None
    assert take(board, chain=True).chain == ChainFigures(
        head_block=120, sync_lag_blocks=3, wallet_balance_wei=10**18, wallet_nonce=4,
        transactions_sent=9, transactions_failed=1)


def test_chain_figures_not_yet_published_are_none():
    chain = take(Board(), chain=True).chain
    assert chain is not None and chain.head_block is None and chain.wallet_nonce is None


def test_system_figures_are_the_latest_sample_and_round_trip_as_json():
    board = busy_board()
    assert take(board).system is None
    board.system_figures = SYSTEM
    snap = take(board)
    assert snap.system == SYSTEM
    assert msgspec.json.decode(msgspec.json.encode(snap), type=StatsSnapshot) == snap
