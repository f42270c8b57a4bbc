"""Supervision of the real node actors: executors and the router talking to real HTTP workflows.

The workflow servers run as plain subprocesses (the same script as the test images), and the
node's containers point at them by ``url``, so these tests need no Docker engine.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.directory import ActorUnavailable
from actors.restart_policy import RestartPolicy
from actors.router import ROUTER, executor_name
from actors.supervisor import SupervisorStatus
from actors.system import NodeSystem
from node.api.service import JobSubmission, Overloaded
from node.config import parse_config
from tests.node_support import free_service_port, running_node

SERVER = Path(__file__).resolve().parents[1] / "images" / "workflow_server.py"


class Poison:
    """A message no actor understands: handling it raises, which is a crash."""


def start_server(mode: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_service_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "--mode", mode, "--host", "127.0.0.1",
                             "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"workflow server {mode} did not start")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    for mode in ("echo", "slow"):
        proc, url = start_server(mode)
        procs.append(proc)
        urls[mode] = url
    yield urls
    for proc in procs:
        proc.terminate()
        proc.wait(5)


def config_for(servers: dict[str, str], tmp: Path, **slow: Any) -> dict[str, Any]:
    return {
        "manage_containers": False,
        "forward_stats": False,
        "log": {"path": None},
        "store": {"data_dir": str(tmp / "data")},
        "containers": [
            {"id": "a", "url": servers["echo"]},
            {"id": "b", "url": servers["echo"]},
            {"id": "slow", "url": servers["slow"], **slow},
        ],
    }


FAST = RestartPolicy(max_restarts=4, within=60, backoff_initial=0.01, backoff_max=0.05)


@pytest.fixture
def system(servers: dict[str, str], tmp_path: Path) -> Iterator[tuple[NodeSystem, list[str]]]:
    escalations: list[str] = []
    loaded = parse_config(config_for(servers, tmp_path))
    node = NodeSystem(loaded.config, policy=FAST, on_escalate=escalations.append)
    node.start()
    yield node, escalations
    node.stop()


def run_job(node: NodeSystem, container: str, data: dict[str, Any], timeout: float = 10) -> Any:
    assert node.facade is not None
    job_id = node.facade.submit("127.0.0.1", JobSubmission(
        containers=(container,), data=msgspec.Raw(msgspec.json.encode(data))))
    assert job_id is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = node.facade.results("127.0.0.1", [job_id])
        if records and records[0].status != "running":
            return records[0]
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish")


def generation(node: NodeSystem, name: str) -> int:
    sup = node._supervisor
    assert sup is not None
    return {c.name: c.generation for c in sup.ask(SupervisorStatus(), timeout=5)}[name]


def wait_for(predicate: Any, timeout: float = 10) -> None:
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        done.wait(0.01)


def test_crashing_executor_restarts_alone_while_others_serve(system) -> None:
    node, escalations = system
    b_ref = node.directory.get(executor_name("b"))
    for round_ in range(3):
        node.directory.tell(executor_name("a"), Poison())
        # b keeps serving while a is down or restarting
        record = run_job(node, "b", {"round": round_})
        assert record.status == "success"
        wait_for(lambda r=round_: generation(node, executor_name("a")) == r + 1)
        assert run_job(node, "a", {"after": round_}).status == "success"
    assert node.directory.get(executor_name("b")) is b_ref
    assert generation(node, executor_name("b")) == 0
    assert escalations == []


def test_job_in_flight_survives_its_executor_crashing(system) -> None:
    node, _ = system
    assert node.facade is not None
    job_id = node.facade.submit("127.0.0.1", JobSubmission(
        containers=("slow",), data=msgspec.Raw(b'{"sleep": 1}')))
    node.directory.tell(executor_name("slow"), Poison())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        records = node.facade.results("127.0.0.1", [job_id])
        if records[0].status != "running":
            break
        time.sleep(0.02)
    assert records[0].status == "success"


def test_router_crash_loses_no_accepted_job(system) -> None:
    node, _ = system
    assert node.facade is not None
    job_id = node.facade.submit("127.0.0.1", JobSubmission(
        containers=("slow",), data=msgspec.Raw(b'{"sleep": 0.5, "k": 7}')))
    node.directory.tell(ROUTER, Poison())
    wait_for(lambda: generation(node, ROUTER) == 1)
    # The new router re-read the pending job from the store and drove it to completion.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            records = node.facade.results("127.0.0.1", [job_id])
        except ActorUnavailable:
            continue
        if records[0].status != "running":
            break
        time.sleep(0.02)
    assert records[0].status == "success"
    assert msgspec.json.decode(records[0].result.output) == {"output": {"sleep": 0.5, "k": 7}}


def test_exceeding_restart_intensity_escalates(system) -> None:
    node, escalations = system
    for gen in range(FAST.max_restarts + 1):
        wait_for(lambda g=gen: generation(node, executor_name("a")) >= g)
        node.directory.tell(executor_name("a"), Poison())
    wait_for(lambda: bool(escalations))
    assert "restart intensity exceeded" in escalations[0]
    assert node.board.escalated
    assert node.facade is not None and node.facade.health() is False


def test_full_queue_answers_overloaded(servers: dict[str, str], tmp_path: Path) -> None:
    loaded = parse_config(config_for(servers, tmp_path, concurrency=1, queue_size=1))
    node = NodeSystem(loaded.config)
    facade = node.start()
    try:
        slow = JobSubmission(containers=("slow",), data=msgspec.Raw(b'{"sleep": 2}'))
        facade.submit("127.0.0.1", slow)
        facade.submit("127.0.0.1", slow)
        with pytest.raises(Overloaded):
            facade.submit("127.0.0.1", slow)
        # Other containers are not affected by one full queue.
        assert run_job(node, "a", {"ok": 1}).status == "success"
    finally:
        node.stop()


def test_full_queue_is_429_with_retry_after_over_http(
        servers: dict[str, str], tmp_path: Path) -> None:
    config = config_for(servers, tmp_path, concurrency=1, queue_size=1)
    with running_node(tmp_path, config, free_service_port()) as node:
        for _ in range(2):
            node.submit(["slow"], {"sleep": 2})
        conn_status, body = node.request("POST", "/api/jobs",
                                         {"containers": ["slow"], "data": {"sleep": 2}})
        assert conn_status == 429, body
        assert isinstance(body, dict) and "error" in body


def test_stream_closed_before_it_starts_finishes_the_job(system) -> None:
    node, _ = system
    assert node.facade is not None
    job_id, chunks = node.facade.stream("127.0.0.1", JobSubmission(
        containers=("a",), data=msgspec.Raw(b'{"chunks": ["x"]}')))
    chunks.close()  # what the WSGI server does when the client hangs up after the id line
    wait_for(lambda: node.facade.results("127.0.0.1", [job_id])[0].status != "running")
    record = node.facade.results("127.0.0.1", [job_id])[0]
    assert record.status == "failed" and "disconnected" in record.result.error
