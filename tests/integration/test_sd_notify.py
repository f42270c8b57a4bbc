"""A real node process speaks systemd's notify protocol to a datagram socket.

READY=1 must come from the worker once the actors run (gunicorn's own READY=1
when its socket is bound is suppressed), WATCHDOG=1 must repeat, and SIGTERM
must produce STOPPING=1 before a clean exit.
"""

from __future__ import annotations

import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.node_support import NodeProcess, free_service_port, write_config


class Listener:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.put(data.decode("utf-8"))

    def wait_for(self, field: str, timeout: float) -> str:
        """The next message holding ``field`` (e.g. ``READY=1``) as one of its lines."""
        return self._wait(lambda line: line == field, field, timeout)[0]

    def wait_for_prefix(self, prefix: str, timeout: float) -> str:
        """The first line starting with ``prefix`` in the next messages."""
        return self._wait(lambda line: line.startswith(prefix), prefix, timeout)[1]

    def _wait(self, match: Callable[[str], bool], what: str,
              timeout: float) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(message)
            for line in message.split("\n"):
                if match(line):
                    return message, line
        raise AssertionError(f"no {what!r} within {timeout}s; got {self.seen}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    lst = Listener(tmp_path / "notify.sock")
    yield lst
    lst.close()


def test_ready_after_actors_then_watchdog_then_stopping(
        tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_service_port()
    config = {
        "containers": [], "manage_containers": False, "forward_stats": False,
        "server": {"port": port, "host": "127.0.0.1", "graceful_timeout": 2},
        "log": {"path": None}, "store": {"data_dir": str(tmp_path / "data")},
        "chain": {"enabled": False},
    }
    path = tmp_path / "config.json"
    write_config(path, config)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # pings every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    node = NodeProcess(config_path=path, port=port, workdir=tmp_path)
    node.start()
    try:
        ready = listener.wait_for("READY=1", timeout=60)
        # The actors are up when READY=1 arrives: the node already answers healthy.
        status, _ = node.request("GET", "/health")
        assert status == 200, node.log()
        assert any(line.startswith("STATUS=serving on") for line in ready.split("\n"))
        assert not any("Gunicorn arbiter booted" in m for m in listener.seen), listener.seen
        for _ in range(3):
            listener.wait_for("WATCHDOG=1", timeout=5)
        node.signal(signal.SIGTERM)
        listener.wait_for("STOPPING=1", timeout=10)
        assert node.wait_exit(60) == 0, node.log()
    finally:
        node.stop()
    assert sum(m.split("\n").count("READY=1") for m in listener.seen) == 1


def test_a_node_that_cannot_start_says_why_and_never_ready(
        tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_service_port()
    with socket.socket() as probe:  # a port nobody listens on: the RPC is refused
        probe.bind(("127.0.0.1", 0))
        dead_rpc = f"http://127.0.0.1:{probe.getsockname()[1]}"
    config = {
        "containers": [], "manage_containers": False, "forward_stats": False,
        "server": {"port": port, "host": "127.0.0.1"}, "log": {"path": None},
        "store": {"data_dir": str(tmp_path / "data")},
        "chain": {"enabled": True, "rpc_url": dead_rpc,
                  "registry_address": "0x" + "11" * 20,
                  "wallet": {"private_key": "0x" + "22" * 32}},
    }
    path = tmp_path / "config.json"
    write_config(path, config)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    node = NodeProcess(config_path=path, port=port, workdir=tmp_path)
    node.start()
    try:
        status = listener.wait_for_prefix("STATUS=failed to start: ", timeout=60)
        assert "chain.rpc_url" in status, status
        assert node.wait_exit(60) != 0
    finally:
        node.stop()
    while not listener.messages.empty():
        listener.seen.append(listener.messages.get())
    assert not any("READY=1" in m.split("\n") for m in listener.seen), listener.seen
