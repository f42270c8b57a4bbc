"""Shared pieces of the off-chain benchmark: a lean HTTP client, the node and echo processes, PSS.

The client speaks raw HTTP/1.1 over a socket rather than http.client: the load generator runs on the
same two cores as the node, so every microsecond the client spends is one the node does not get.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_SERVER = REPO_ROOT / "tests" / "images" / "workflow_server.py"
ECHO_IMAGE = "infernet-test/echo:latest"
HOST = "127.0.0.1"


class HttpError(Exception):
    pass


class Http:
    """A client of 127.0.0.1:port; ``keepalive=False`` opens a new TCP connection per request."""

    def __init__(self, port: int, *, keepalive: bool, timeout: float = 10.0) -> None:
        self.port = port
        self.keepalive = keepalive
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        if not self.keepalive:
            head += "Connection: close\r\n"
        # Head and body in one send: no small trailing segment for Nagle/delayed-ACK to hold back.
        self.sock.sendall(head.encode() + b"\r\n" + (body or b""))
        status, headers, payload = self._read_response()
        if not self.keepalive or headers.get("connection", "").lower() == "close":
            self.close()
        return status, payload

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed mid-response")
        return chunk

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            self.buf += self._recv()
        line, self.buf = self.buf.split(marker, 1)
        return line

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_response(self) -> tuple[int, dict[str, str], bytes]:
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                parts.append(self._read_exact(size))
                self._read_exact(2)
            return status, headers, b"".join(parts)
        if "content-length" in headers:
            return status, headers, self._read_exact(int(headers["content-length"]))
        while True:  # HTTP/1.0 style: body runs to EOF
            try:
                self.buf += self._recv()
            except HttpError:
                data, self.buf = self.buf, b""
                self.close()
                return status, headers, data


def job_body(containers: list[str], data: Any) -> bytes:
    return json.dumps({"containers": containers, "data": data}).encode()


def results_path(ids: list[str]) -> str:
    return "/api/jobs?" + "&".join(f"id={i}" for i in ids)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; ``nan`` for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def free_port() -> int:
    """A free port below the ephemeral range, so Docker's publish does not race outgoing sockets."""
    from tests.node_support import free_service_port

    return free_service_port()


def wait_http_ok(port: int, path: str, timeout: float, poll: float = 0.005) -> float:
    """Poll until GET path answers 200; returns the monotonic time it did."""
    deadline = time.monotonic() + timeout
    client = Http(port, keepalive=False, timeout=1.0)
    while time.monotonic() < deadline:
        try:
            status, _ = client.request("GET", path)
            if status == 200:
                return time.monotonic()
        except (OSError, HttpError):
            client.close()
        time.sleep(poll)
    raise TimeoutError(f"GET {path} on port {port} not 200 after {timeout}s")


# --- processes -------------------------------------------------------------------------------


@dataclass
class NodeProc:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    started_at: float

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / "node.out"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def node_config(workdir: Path, port: int, container: dict[str, Any],
                queue_size: int | None = None) -> dict[str, Any]:
    if queue_size is not None:
        container = dict(container, queue_size=queue_size)
    return {
        "manage_containers": "image" in container,
        "startup_wait": 0,
        "forward_stats": False,
        "chain": {"enabled": False},
        "log": {"path": None, "level": "info"},
        "store": {"backend": "sqlite", "data_dir": str(workdir / "data")},
        # The benchmark measures the node, not its rate limiter.
        "server": {"port": port, "rate_limit": {"num_requests": 1_000_000, "period": 1}},
        "containers": [container],
    }


def start_node(workdir: Path, config: dict[str, Any]) -> NodeProc:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=pythonpath)
    out = open(workdir / "node.out", "ab")  # noqa: SIM115 - the child owns it from here
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "node", "run", "--config", str(path)],
                            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return NodeProc(proc=proc, port=config["server"]["port"], workdir=workdir, started_at=started)


@contextmanager
def running_node(workdir: Path, config: dict[str, Any],
                 timeout: float = 120.0) -> Iterator[NodeProc]:
    node = start_node(workdir, config)
    try:
        try:
            wait_http_ok(node.port, "/health", timeout)
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}\n{node.log_tail()}") from exc
        yield node
    finally:
        node.stop()


@contextmanager
def echo_subprocess(port: int) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, str(WORKFLOW_SERVER), "--mode", "echo",
                             "--host", HOST, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http_ok(port, "/", 15.0)
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def remove_docker_container(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def ensure_echo_image() -> None:
    have = subprocess.run(["docker", "image", "inspect", ECHO_IMAGE], capture_output=True)
    if have.returncode != 0:
        subprocess.run([str(REPO_ROOT / ".ci" / "build-test-images.sh")], check=True)


# --- memory ----------------------------------------------------------------------------------


def smaps_kib(pid: int) -> dict[str, int]:
    """``Rss``/``Pss`` of one process in KiB from /proc/PID/smaps_rollup."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name in ("Rss", "Pss"):
                values[name] = int(rest.split()[0])
    return values


def node_pids(master: int) -> list[int]:
    """The gunicorn master and its direct children (the worker)."""
    try:
        with open(f"/proc/{master}/task/{master}/children") as fh:
            children = [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []
    return [master, *children]


def node_memory_mib(master: int) -> tuple[float, float, int]:
    """(PSS MiB, RSS MiB, process count) summed over master + worker."""
    pss = rss = 0
    pids = node_pids(master)
    for pid in pids:
        try:
            values = smaps_kib(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        pss += values.get("Pss", 0)
        rss += values.get("Rss", 0)
    return pss / 1024.0, rss / 1024.0, len(pids)
