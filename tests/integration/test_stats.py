"""The stats reporter in a real node process: GET /metrics counts a job, snapshots reach a sink.

The container is the workflow test server run as a plain subprocess and called by URL, and
the stats endpoint is a real HTTP server on 127.0.0.1, so no Docker engine is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.node_support import NodeProcess, free_service_port, running_node
from tests.unit.stats.sink import closed_port_url, http_sink
from tests.workflow_support import workflow_server


def node_config(server_url: str, endpoint: str) -> dict[str, Any]:
    return {
        "manage_containers": False,
        "startup_wait": 0,
        "forward_stats": True,
        "stats": {"endpoint": endpoint, "interval": 0.2, "batch_size": 5},
        "containers": [{"id": "echo", "url": server_url}],
    }


def scrape(node: NodeProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = node.request("GET", "/metrics")
    assert status == 200, (status, body)
    assert isinstance(body, bytes)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def run_one_job(node: NodeProcess) -> str:
    job_id = node.submit(["echo"], {"prompt": "count me"})
    assert node.wait_result(job_id)["status"] == "success"
    return job_id


def test_metrics_count_a_job_and_snapshots_reach_the_sink(tmp_path: Path) -> None:
    with http_sink() as sink, workflow_server("echo") as echo, running_node(
            tmp_path, node_config(echo.url, sink.url), free_service_port(),
            containers=("echo",)) as node:
        before = scrape(node)
        job_id = run_one_job(node)
        after = scrape(node)
        _, text = node.request("GET", "/metrics")
        assert job_id.encode() not in text  # no job ids as labels
        assert sink.wait_for(lambda s: any(snap["jobs"]["succeeded"] == 1
                                           for snap in s.snapshots()))

    success = ("infernet_jobs_total", (("status", "success"),))
    echo_ok = ("infernet_container_calls_total", (("container", "echo"), ("outcome", "success")))
    assert before[success] == 0 and after[success] == 1
    assert before[echo_ok] == 0 and after[echo_ok] == 1
    assert after[("infernet_container_up", (("container", "echo"),))] == 1
    assert after[("infernet_container_call_seconds_total", (("container", "echo"),))] > 0
    assert after[("infernet_system_cpu_count", ())] >= 1
    assert ("process_resident_memory_bytes", ()) in after
    assert not any(name.startswith("infernet_chain") for name, _ in after)

    snap = next(s for s in sink.snapshots() if s["jobs"]["succeeded"] == 1)
    assert snap["node_id"] and snap["chain"] is None
    assert [(c["name"], c["succeeded"]) for c in snap["containers"]] == [("echo", 1)]
    assert snap["system"]["memory_total_bytes"] > 0
    assert {b["node_id"] for b in sink.bodies} == {snap["node_id"]}


def test_an_unreachable_stats_endpoint_costs_only_a_warning(tmp_path: Path) -> None:
    with workflow_server("echo") as echo, running_node(
            tmp_path, node_config(echo.url, closed_port_url()), free_service_port(),
            containers=("echo",)) as node:
        for _ in range(3):
            run_one_job(node)
        assert scrape(node)[("infernet_jobs_total", (("status", "success"),))] == 3
        status, body = node.request("GET", "/health")
        assert (status, body) == (200, {"status": "healthy"})
        log = node.log()
    assert log.count("stats endpoint unreachable") == 1
