"""The workflow test server (tests/images/workflow_server.py) as a plain subprocess, no Docker.

A node configured with ``"manage_containers": false`` and a container ``{"id": ..., "url":
server.url}`` calls it like any external container.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.node_support import REPO_ROOT, NodeProcess, free_service_port, running_node

SERVER_SCRIPT = REPO_ROOT / "tests" / "images" / "workflow_server.py"
HOST = "127.0.0.1"


@dataclass
class WorkflowServerProcess:
    mode: str
    port: int
    proc: subprocess.Popen[bytes]
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def received(self) -> list[dict[str, Any]]:
        """The requests the server has recorded (``GET /_requests``), oldest first."""
        status, body = self.get("/_requests")
        assert status == 200, (status, body)
        requests: list[dict[str, Any]] = json.loads(body)
        return requests

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"workflow server ({self.mode}) exited with {self.proc.returncode}:\n"
                    + self.log())
            try:
                status, body = self.get("/", timeout=1.0)
                if status == 200 and body == b"ok":
                    return
                last = f"GET / answered {status} {body[:100]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.05)
        raise AssertionError(
            f"workflow server ({self.mode}) not answering after {timeout}s ({last}):\n"
            + self.log())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return "".join(self.output[-100:])


def start_workflow_server(mode: str, *, port: int | None = None, service_id: str | None = None,
                          timeout: float = 15.0) -> WorkflowServerProcess:
    """Start the server on 127.0.0.1 and wait until ``GET /`` answers ``ok``."""
    port = free_service_port() if port is None else port
    cmd = [sys.executable, str(SERVER_SCRIPT), "--mode", mode, "--host", HOST,
           "--port", str(port)]
    if service_id is not None:
        cmd += ["--service-id", service_id]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = WorkflowServerProcess(mode=mode, port=port, proc=proc)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server.output.append(line.decode("utf-8", "replace"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        server.wait_ready(timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def workflow_server(mode: str, *, port: int | None = None, service_id: str | None = None,
                    timeout: float = 15.0) -> Iterator[WorkflowServerProcess]:
    server = start_workflow_server(mode, port=port, service_id=service_id, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def workflow_servers(modes: dict[str, str], *,
                     timeout: float = 15.0) -> Iterator[dict[str, WorkflowServerProcess]]:
    """Several servers at once, keyed like ``modes`` (container id -> mode); all stopped after."""
    started: dict[str, WorkflowServerProcess] = {}
    try:
        for name, mode in modes.items():
            started[name] = start_workflow_server(mode, service_id=name, timeout=timeout)
        yield started
    finally:
        for server in started.values():
            server.stop()


def external_containers(servers: dict[str, WorkflowServerProcess]) -> list[dict[str, Any]]:
    """Node config ``containers`` entries that call the given servers by URL."""
    return [{"id": name, "url": server.url} for name, server in servers.items()]


@contextmanager
def node_with_workflow_servers(workdir: Path, modes: dict[str, str], *,
                               timeout: float = 60.0) -> Iterator[NodeProcess]:
    """A real node on 127.0.0.1 that calls one test server per entry of ``modes`` by URL.

    The rate limit is lifted so tests that fire many requests measure the API, not the limiter.
    """
    with workflow_servers(modes) as servers:
        config = {
            "manage_containers": False,
            "startup_wait": 0,
            "server": {"host": HOST, "rate_limit": {"num_requests": 100000, "period": 1}},
            "containers": external_containers(servers),
        }
        with running_node(workdir, config, free_service_port(), containers=tuple(modes),
                          timeout=timeout) as node:
            yield node
