"""Builds a ``StatsSnapshot`` from what the actors publish, without asking any actor.

The board is read as a ``FigureBoard``: the shape of ``actors.board.Board``,
named here so this module needs no actor code. Each figure is read once; two
figures of one snapshot can be a job apart, which stats can live with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from node.stats.figures import (
    ChainFigures,
    ContainerFigures,
    JobFigures,
    StatsSnapshot,
    SystemFigures,
)


class GaugeView(Protocol):
    @property
    def state(self) -> str: ...
    @property
    def restarts(self) -> int: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def succeeded(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def total_seconds(self) -> float: ...


class FigureBoard(Protocol):
    @property
    def containers(self) -> Mapping[str, GaugeView]: ...
    @property
    def jobs_running(self) -> int: ...
    @property
    def onchain_running(self) -> int: ...
    @property
    def jobs_succeeded(self) -> int: ...
    @property
    def jobs_failed(self) -> int: ...
    @property
    def actor_restarts(self) -> Mapping[str, int]: ...
    @property
    def chain_head_block(self) -> int | None: ...
    @property
    def chain_sync_lag_blocks(self) -> int | None: ...
    @property
    def wallet_balance_wei(self) -> int | None: ...
    @property
    def wallet_nonce(self) -> int | None: ...
    @property
    def transactions_sent(self) -> int: ...
    @property
    def transactions_failed(self) -> int: ...
    @property
    def system_figures(self) -> SystemFigures | None: ...


def container_figures(board: FigureBoard) -> tuple[ContainerFigures, ...]:
    # items() is copied in one C call: safe against an actor adding a container meanwhile.
    gauges = sorted(list(board.containers.items()))
    return tuple(
        ContainerFigures(name=name, state=g.state, restarts=g.restarts, in_flight=g.in_flight,
                         succeeded=g.succeeded, failed=g.failed, busy_seconds=g.total_seconds)
        for name, g in gauges
    )


def chain_figures(board: FigureBoard) -> ChainFigures:
    return ChainFigures(
        head_block=board.chain_head_block, sync_lag_blocks=board.chain_sync_lag_blocks,
        wallet_balance_wei=board.wallet_balance_wei, wallet_nonce=board.wallet_nonce,
        transactions_sent=board.transactions_sent,
        transactions_failed=board.transactions_failed,
    )


def snapshot_from_board(
    board: FigureBoard,
    *,
    node_id: str,
    version: str,
    chain_enabled: bool,
    started_at: float,
    now: float,
) -> StatsSnapshot:
    """``started_at`` and ``now`` are unix seconds."""
    return StatsSnapshot(
        node_id=node_id,
        version=version,
        taken_at=now,
        uptime_seconds=max(0.0, now - started_at),
        jobs=JobFigures(running_offchain=board.jobs_running,
                        running_onchain=board.onchain_running,
                        succeeded=board.jobs_succeeded, failed=board.jobs_failed),
        containers=container_figures(board),
        actor_restarts=dict(board.actor_restarts),
        chain=chain_figures(board) if chain_enabled else None,
        system=board.system_figures,
    )
