"""The stats reporter in a real node process: GET /metrics counts a job, snapshots reach a sink.

The container is the workflow test server run as a plain subprocess and called by URL, and
the stats endpoint is a real HTTP server on 127.0.0.1, so no Docker engine is needed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.node_support import NodeProcess, free_service_port, running_node
from tests.unit.stats.sink import Sink, closed_port_url, http_sink
from tests.workflow_support import workflow_server

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
SUCCESS = ("infernet_jobs_total", (("status", "success"),))
ECHO_OK = ("infernet_container_calls_total", (("container", "echo"), ("outcome", "success")))


def node_config(server_url: str, endpoint: str) -> dict[str, Any]:
    return {
        "manage_containers": False,
        "startup_wait": 0,
        "forward_stats": True,
        "stats": {"endpoint": endpoint, "interval": 0.2, "batch_size": 5},
        "containers": [{"id": "echo", "url": server_url}],
    }


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with http_sink() as s:
        yield s


@pytest.fixture(scope="module")
def node(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    workdir = tmp_path_factory.mktemp("stats-node")
    with workflow_server("echo") as echo, running_node(
            workdir, node_config(echo.url, sink.url), free_service_port(),
            containers=("echo",)) as n:
        yield n


def scrape(node: NodeProcess) -> tuple[Samples, bytes]:
    status, body = node.request("GET", "/metrics")
    # 404 means node/server/gunicorn_app.py does not give create_app a metrics source.
    assert status == 200, (status, body)
    assert isinstance(body, bytes)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(body.decode()) for s in f.samples}
    return samples, body


def run_one_job(node: NodeProcess) -> str:
    job_id = node.submit(["echo"], {"prompt": "count me"})
    assert node.wait_result(job_id)["status"] == "success"
    return job_id


def test_snapshots_of_the_node_reach_the_configured_endpoint(node: NodeProcess,
                                                             sink: Sink) -> None:
    run_one_job(node)
    assert sink.wait_for(lambda s: any(snap["jobs"]["succeeded"] >= 1
                                       for snap in s.snapshots())), node.log()
    snap = next(s for s in sink.snapshots() if s["jobs"]["succeeded"] >= 1)
    assert snap["node_id"] and snap["chain"] is None and snap["version"]
    echo = {c["name"]: c for c in snap["containers"]}["echo"]
    assert echo["succeeded"] >= 1 and echo["state"] == "ready"
    assert snap["system"]["memory_total_bytes"] > 0
    assert {b["node_id"] for b in sink.bodies} == {snap["node_id"]}


def test_metrics_count_a_job(node: NodeProcess) -> None:
    before, _ = scrape(node)
    job_id = run_one_job(node)
    after, text = scrape(node)
    assert job_id.encode() not in text  # no job ids as labels
    assert after[SUCCESS] == before[SUCCESS] + 1
    assert after[ECHO_OK] == before[ECHO_OK] + 1
    assert after[("infernet_container_up", (("container", "echo"),))] == 1
    assert after[("infernet_container_call_seconds_total", (("container", "echo"),))] > 0
    assert after[("infernet_system_cpu_count", ())] >= 1
    assert ("process_resident_memory_bytes", ()) in after
    assert not any(name.startswith("infernet_chain") for name, _ in after)


def test_an_unreachable_stats_endpoint_costs_only_a_warning(tmp_path: Path) -> None:
    with workflow_server("echo") as echo, running_node(
            tmp_path, node_config(echo.url, closed_port_url()), free_service_port(),
            containers=("echo",)) as node:
        assert wait_for_log(node, "stats endpoint unreachable"), node.log()
        for _ in range(3):
            run_one_job(node)
        status, body = node.request("GET", "/health")
        assert (status, body) == (200, {"status": "healthy"})
        whole_log = "".join(node.output)
    assert whole_log.count("stats endpoint unreachable") == 1


def wait_for_log(node: NodeProcess, text: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in line for line in node.output):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.chain
def test_chain_head_and_wallet_figures_are_forwarded(tmp_path: Path) -> None:
    from tests.chain_support import deployed_chain
    from tests.integration.node_chain.support import chain_config

    with deployed_chain() as session, http_sink() as sink, workflow_server("echo") as echo:
        config = chain_config(session, [{"id": "echo", "url": echo.url}])
        config.update(forward_stats=True, stats={"endpoint": sink.url, "interval": 0.2})
        with running_node(tmp_path, config, free_service_port(), containers=("echo",)) as node:
            def complete(snap: dict[str, Any]) -> bool:
                chain = snap["chain"] or {}
                return chain.get("head_block") is not None and \
                    chain.get("wallet_nonce") is not None
            assert sink.wait_for(lambda s: any(complete(x) for x in s.snapshots()), 30), \
                node.log()
            chain = next(x for x in sink.snapshots() if complete(x))["chain"]
            assert 0 < chain["head_block"] <= session.w3.eth.block_number
            assert chain["sync_lag_blocks"] is not None and chain["sync_lag_blocks"] >= 0
            assert chain["wallet_nonce"] == session.w3.eth.get_transaction_count(session.node)
            assert chain["wallet_balance_wei"] == session.w3.eth.get_balance(session.node)
