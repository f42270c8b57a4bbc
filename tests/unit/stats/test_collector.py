from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from actors.board import Board
from node.stats.collector import node_registry
from node.stats.figures import GpuFigures, StatsSnapshot, SystemFigures
from node.stats.snapshot import snapshot_from_board
from tests.unit.stats.test_snapshot import busy_board

GPUS = (GpuFigures(index=0, name="T4", utilization_percent=50.0, memory_used_bytes=10,
                   memory_total_bytes=100, temperature_celsius=40.0),
        GpuFigures(index=1, name="T4"))
SYSTEM = SystemFigures(cpu_count=4, cpu_percent=25.0, memory_used_bytes=1000,
                       memory_total_bytes=4000, disk_path="/data", disk_used_bytes=30,
                       disk_total_bytes=90, gpus=GPUS)


def scrape(snapshot: StatsSnapshot | None, process: bool = False) -> dict[tuple[str, tuple], float]:
    """Sample name + sorted labels -> value, as a Prometheus server would read them."""
    text = generate_latest(node_registry(lambda: snapshot, process=process)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def families(snapshot: StatsSnapshot) -> dict[str, str]:
    text = generate_latest(node_registry(lambda: snapshot, process=False)).decode()
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def take(board: Board, chain: bool = False) -> StatsSnapshot:
    return snapshot_from_board(board, node_id="n1", version="1.4.0", chain_enabled=chain,
                               started_at=0.0, now=1.0)


def test_job_and_container_figures():
    m = scrape(take(busy_board()))
    assert m[("infernet_jobs_total", (("status", "success"),))] == 7
    assert m[("infernet_jobs_total", (("status", "failed"),))] == 2
    assert m[("infernet_jobs_running", (("kind", "offchain"),))] == 3
    assert m[("infernet_jobs_running", (("kind", "onchain"),))] == 1
    echo = ("container", "echo")
    assert m[("infernet_container_calls_total", (echo, ("outcome", "success")))] == 5
    assert m[("infernet_container_calls_total", (echo, ("outcome", "failure")))] == 1
    assert m[("infernet_container_call_seconds_total", (echo,))] == 1.25
    assert m[("infernet_container_in_flight", (echo,))] == 2
    assert m[("infernet_container_up", (echo,))] == 1
    assert m[("infernet_container_up", (("container", "slow"),))] == 0
    assert m[("infernet_container_restarts_total", (echo,))] == 1
    assert m[("infernet_actor_restarts_total", (("actor", "executor:echo"),))] == 2
    assert m[("infernet_node_info", (("node_id", "n1"), ("version", "1.4.0")))] == 1


def test_metric_types_follow_the_naming_conventions():
    board = busy_board()
    board.system_figures = SYSTEM
    board.chain_head_block, board.chain_sync_lag_blocks = 120, 3
    types = families(take(board, chain=True))
    for name, kind in types.items():
        assert name.startswith("infernet_"), name
        if kind == "counter":
            # the parser strips _total from counter family names
            assert not name.endswith("_total"), name
    assert types["infernet_jobs"] == "counter"
    assert types["infernet_container_call_seconds"] == "counter"
    assert types["infernet_container_in_flight"] == "gauge"
    assert types["infernet_chain_head_block"] == "gauge"
    assert types["infernet_transactions"] == "counter"


def test_no_job_ids_in_labels():
    board = busy_board()
    board.system_figures = SYSTEM
    labels = {key for name, labels in scrape(take(board, chain=True)) for key, _ in labels}
    assert labels <= {"status", "kind", "container", "outcome", "actor", "node_id", "version",
                      "path", "gpu", "name"}


def test_chain_metrics_absent_when_the_chain_is_disabled():
    names = {name for name, _ in scrape(take(busy_board()))}
    assert not any(n.startswith(("infernet_chain", "infernet_wallet", "infernet_transactions"))
                   for n in names)


def test_chain_metrics_when_published():
    board = busy_board()
    board.chain_head_block, board.chain_sync_lag_blocks = 120, 3
    board.wallet_balance_wei, board.wallet_nonce = 5 * 10**17, 4
    board.transactions_sent, board.transactions_failed = 9, 1
    m = scrape(take(board, chain=True))
    assert m[("infernet_chain_head_block", ())] == 120
    assert m[("infernet_chain_sync_lag_blocks", ())] == 3
    assert m[("infernet_wallet_balance_wei", ())] == 5 * 10**17
    assert m[("infernet_wallet_nonce", ())] == 4
    assert m[("infernet_transactions_total", (("status", "sent"),))] == 9
    assert m[("infernet_transactions_total", (("status", "failed"),))] == 1


def test_unpublished_chain_figures_are_left_out_not_zero():
    m = scrape(take(Board(), chain=True))
    assert ("infernet_chain_head_block", ()) not in m
    assert ("infernet_wallet_balance_wei", ()) not in m
    assert m[("infernet_transactions_total", (("status", "sent"),))] == 0


def test_system_and_gpu_figures():
    board = busy_board()
    board.system_figures = SYSTEM
    m = scrape(take(board))
    assert m[("infernet_system_cpu_count", ())] == 4
    assert m[("infernet_system_cpu_usage_ratio", ())] == 0.25
    assert m[("infernet_system_memory_used_bytes", ())] == 1000
    assert m[("infernet_system_memory_total_bytes", ())] == 4000
    assert m[("infernet_system_disk_used_bytes", (("path", "/data"),))] == 30
    assert m[("infernet_system_disk_total_bytes", (("path", "/data"),))] == 90
    gpu0 = (("gpu", "0"), ("name", "T4"))
    assert m[("infernet_gpu_utilization_ratio", gpu0)] == 0.5
    assert m[("infernet_gpu_memory_used_bytes", gpu0)] == 10
    assert m[("infernet_gpu_temperature_celsius", gpu0)] == 40
    # GPU 1 reports nothing: no samples rather than made-up zeros
    assert not any(labels == (("gpu", "1"), ("name", "T4")) for _, labels in m)


def test_no_system_sample_yet_means_no_system_metrics():
    names = {name for name, _ in scrape(take(busy_board()))}
    assert not any(n.startswith(("infernet_system", "infernet_gpu")) for n in names)


def test_nothing_before_the_first_snapshot_but_process_figures():
    assert scrape(None) == {}
    names = {name for name, _ in scrape(None, process=True)}
    assert "process_resident_memory_bytes" in names


def test_the_global_registry_is_left_alone():
    node_registry(lambda: take(busy_board()))
    assert b"infernet_" not in generate_latest(REGISTRY)
