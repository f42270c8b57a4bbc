"""The off-chain node end to end: a real node process, real gunicorn, real Docker containers."""

from __future__ import annotations

import http.client
import signal
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.docker_support import (
    ECHO_IMAGE,
    FAILING_IMAGE,
    SLOW_IMAGE,
    STREAMING_IMAGE,
    engine_client,
    ensure_test_images,
)
from tests.node_support import NodeProcess, free_service_port, running_node

pytestmark = pytest.mark.docker

NAMES = ("t-echo", "t-echo2", "t-slow", "t-failing", "t-stream")
LEFTOVERS = (*NAMES, "t-slow-k9", "t-slow-term")


def node_config(ports: dict[str, int]) -> dict[str, Any]:
    return {
        "manage_containers": True,
        "startup_wait": 0,
        "server": {"rate_limit": {"num_requests": 10000, "period": 1}},
        "containers": [
            {"id": "t-echo", "image": ECHO_IMAGE, "port": ports["t-echo"]},
            {"id": "t-echo2", "image": ECHO_IMAGE, "port": ports["t-echo2"], "external": False},
            {"id": "t-slow", "image": SLOW_IMAGE, "port": ports["t-slow"]},
            {"id": "t-failing", "image": FAILING_IMAGE, "port": ports["t-failing"]},
            {"id": "t-stream", "image": STREAMING_IMAGE, "port": ports["t-stream"]},
        ],
    }


def remove_leftovers(client: docker.DockerClient) -> None:
    for name in LEFTOVERS:
        try:
            client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    client = engine_client()
    ensure_test_images()
    remove_leftovers(client)
    yield client
    remove_leftovers(client)


@pytest.fixture(scope="module")
def node(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory):
    ports = {name: free_service_port() for name in NAMES}
    workdir = tmp_path_factory.mktemp("node")
    with running_node(workdir, node_config(ports), free_service_port(), containers=NAMES,
                      timeout=120) as n:
        yield n


def test_job_success_returns_echoed_output(node: NodeProcess) -> None:
    job_id = node.submit(["t-echo"], {"prompt": "hello", "n": 3})
    result = node.wait_result(job_id)
    assert result["status"] == "success"
    assert result["result"] == {"container": "t-echo", "output": {"output": {"prompt": "hello",
                                                                              "n": 3}}}
    assert "intermediate_results" not in result


def test_job_is_running_record_immediately_after_submit(node: NodeProcess) -> None:
    job_id = node.submit(["t-slow"], {"sleep": 0.5})
    status, body = node.request("GET", f"/api/jobs?id={job_id}")
    assert status == 200 and body[0]["status"] == "running"
    assert node.wait_result(job_id)["status"] == "success"


def test_chained_containers_record_intermediate_results(node: NodeProcess) -> None:
    job_id = node.submit(["t-echo", "t-echo2"], {"x": 1})
    result = node.wait_result(job_id, intermediate=True)
    assert result["status"] == "success"
    first = {"output": {"x": 1}}
    assert result["intermediate_results"] == [{"container": "t-echo", "output": first}]
    # The second container got the first one's whole output as its data.
    assert result["result"] == {"container": "t-echo2", "output": {"output": first}}


def test_batch_answers_in_order_with_rejections(node: NodeProcess) -> None:
    status, body = node.request("POST", "/api/jobs/batch", [
        {"containers": ["t-echo"], "data": {"i": 0}},
        {"containers": ["nope"], "data": {}},
        {"containers": ["t-echo2"], "data": {}},
        {"containers": ["t-echo"], "data": {"i": 3}},
    ])
    assert status == 200
    assert set(body[0]) == {"id"} and set(body[3]) == {"id"}
    assert body[1] == {"error": "Container not supported", "params": {"container": "nope"}}
    assert body[2]["error"] == "First container must be external"
    for index in (0, 3):
        result = node.wait_result(body[index]["id"])
        assert result["result"]["output"] == {"output": {"i": index}}


def test_stream_sends_id_then_chunks_and_records_the_job(node: NodeProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    conn.request("POST", "/api/jobs/stream",
                 body=b'{"containers": ["t-stream"], "data": {"chunks": ["ab", "cd", "ef"]}}',
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    body = resp.read().decode()
    conn.close()
    job_id, _, output = body.partition("\n")
    assert output == "abcdef"
    result = node.wait_result(job_id.strip())
    assert result["status"] == "success"
    assert result["result"] == {"container": "t-stream", "output": {"output": "abcdef"}}


def test_failing_container_fails_the_job_with_its_text(node: NodeProcess) -> None:
    job_id = node.submit(["t-failing"], {"why": "testing"})
    result = node.wait_result(job_id)
    assert result["status"] == "failed"
    assert result["result"]["container"] == "t-failing"
    assert "workflow failed" in result["result"]["error"]
    assert "500" in result["result"]["error"]


def test_json_error_body_with_500_is_a_failure(node: NodeProcess) -> None:
    job_id = node.submit(["t-failing"], {"json": True})
    result = node.wait_result(job_id)
    assert result["status"] == "failed"
    assert "boom" in result["result"]["error"]


def test_jobs_of_one_client_are_invisible_to_another(node: NodeProcess) -> None:
    job_id = node.submit(["t-echo"], {"secret": 1}, source="127.0.0.2")
    assert node.wait_result(job_id, source="127.0.0.2")["status"] == "success"
    status, body = node.request("GET", f"/api/jobs?id={job_id}", source="127.0.0.3")
    assert status == 200 and body == []
    status, ids = node.request("GET", "/api/jobs", source="127.0.0.3")
    assert job_id not in ids
    status, ids = node.request("GET", "/api/jobs", source="127.0.0.2")
    assert job_id in ids


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{not json", 400),
        (b'{"containers": "t-echo", "data": {}}', 422),
        (b'{"containers": ["t-echo"], "data": [1, 2]}', 422),
        (b'{"containers": ["t-echo"]}', 422),
        (b'{"containers": [], "data": {}}', 405),
        (b'{"containers": ["unknown"], "data": {}}', 405),
        (b'{"containers": ["t-echo2"], "data": {}}', 405),
        (b'{"containers": ["t-echo"], "data": {}, "requires_proof": true}', 405),
        (b"[]", 422),
    ],
)
def test_bad_input_gets_a_client_error(node: NodeProcess, payload: bytes, expected: int) -> None:
    status, body = node.request("POST", "/api/jobs", raw=payload)
    assert status == expected, body
    assert isinstance(body, dict) and isinstance(body.get("error"), str)


def test_body_over_the_limit_is_413(node: NodeProcess) -> None:
    big = b'{"containers": ["t-echo"], "data": {"x": "' + b"a" * 2_000_000 + b'"}}'
    status, _body = node.request("POST", "/api/jobs", raw=big)
    assert status == 413


def test_body_id_and_ip_do_not_set_identity(node: NodeProcess) -> None:
    first = node.submit(["t-echo"], {"n": 1})
    status, body = node.request("POST", "/api/jobs", {
        "containers": ["t-echo"], "data": {"n": 2}, "id": first, "ip": "127.0.0.9"})
    assert status == 200 and body["id"] != first
    assert node.wait_result(first)["result"]["output"] == {"output": {"n": 1}}
    assert node.wait_result(body["id"])["result"]["output"] == {"output": {"n": 2}}


def test_info_and_health(node: NodeProcess) -> None:
    status, body = node.request("GET", "/health")
    assert (status, body) == (200, {"status": "healthy"})
    status, info = node.request("GET", "/info")
    assert status == 200
    assert {c["id"] for c in info["containers"]} == set(NAMES)
    assert info["chain"] == {"enabled": False, "address": ""}
    assert set(info["pending"]) == {"offchain", "onchain"}


def test_container_killed_mid_job_fails_it_then_restarts(
        node: NodeProcess, engine: docker.DockerClient) -> None:
    job_id = node.submit(["t-slow"], {"sleep": 20})
    # Wait until the container really holds the request before killing it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, info = node.request("GET", "/info")
        if info["pending"]["offchain"] >= 1:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    engine.containers.get("t-slow").kill()
    result = node.wait_result(job_id, timeout=30)
    assert result["status"] == "failed"
    assert result["result"]["container"] == "t-slow"
    node.wait_healthy(60, containers=("t-slow",))
    # The node restarted it; the next job succeeds.
    deadline = time.monotonic() + 60
    while True:
        again = node.wait_result(node.submit(["t-slow"], {"sleep": 0}), timeout=60)
        if again["status"] == "success" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert again["status"] == "success", again


def test_container_logs_over_the_api(node: NodeProcess) -> None:
    status, body = node.request("GET", "/api/containers/t-echo/logs?tail=5")
    assert status == 200
    lines = body.decode().splitlines() if isinstance(body, bytes) else [str(body)]
    assert 1 <= len(lines) <= 5, lines
    status, _body = node.request("GET", "/api/containers/unknown/logs")
    assert status == 404


def test_pending_jobs_survive_kill_9(engine: docker.DockerClient, tmp_path: Path) -> None:
    config = {"manage_containers": True,
              "containers": [{"id": "t-slow-k9", "image": SLOW_IMAGE, "port": free_service_port()}]}
    port = free_service_port()
    with running_node(tmp_path, config, port, containers=("t-slow-k9",), timeout=120) as node:
        ids = [node.submit(["t-slow-k9"], {"sleep": 3, "i": i}) for i in range(3)]
        node.kill9()
    with running_node(tmp_path, config, port, containers=("t-slow-k9",), timeout=120) as node:
        for i, job_id in enumerate(ids):
            result = node.wait_result(job_id, timeout=60)
            assert result["status"] == "success", result
            assert result["result"]["output"]["output"]["i"] == i


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_finishes_in_flight_jobs_and_stops_containers(
        engine: docker.DockerClient, tmp_path: Path, sig: int) -> None:
    config = {"manage_containers": True,
              "containers": [{"id": "t-slow-term", "image": SLOW_IMAGE,
                              "port": free_service_port()}]}
    port = free_service_port()
    with running_node(tmp_path, config, port, containers=("t-slow-term",), timeout=120) as node:
        job_id = node.submit(["t-slow-term"], {"sleep": 2})
        node.signal(sig)
        assert node.wait_exit(90) == 0, node.log()
        with pytest.raises(docker.errors.NotFound):
            engine.containers.get("t-slow-term")
    with running_node(tmp_path, config, port, containers=("t-slow-term",), timeout=120) as node:
        assert node.wait_result(job_id)["status"] == "success"
