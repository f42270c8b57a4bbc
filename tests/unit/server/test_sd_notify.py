"""The notify protocol against a real AF_UNIX datagram socket (path and abstract)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.server.sd_notify import Notifier, WatchdogPinger, socket_address, watchdog_interval


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    try:
        yield str(path), sock
    finally:
        sock.close()


def receive(sock: socket.socket) -> str:
    return sock.recv(4096).decode("utf-8")


def test_ready_status_and_stopping_arrive_as_single_datagrams(
        receiver: tuple[str, socket.socket]) -> None:
    address, sock = receiver
    notifier = Notifier(address)
    assert notifier.ready("serving")
    assert receive(sock) == "READY=1\nSTATUS=serving"
    assert notifier.stopping()
    assert receive(sock) == "STOPPING=1\nSTATUS=stopping"
    assert notifier.watchdog()
    assert receive(sock) == "WATCHDOG=1"


def test_abstract_namespace_address() -> None:
    name = f"@infernet-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(socket_address(name))
    sock.settimeout(5)
    try:
        assert Notifier(name).status("hello")
        assert receive(sock) == "STATUS=hello"
    finally:
        sock.close()


def test_without_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier(None)
    assert not notifier.enabled
    assert notifier.ready("x") is False


def test_missing_socket_is_reported_not_raised(tmp_path: Path) -> None:
    assert Notifier(str(tmp_path / "absent.sock")).ready("x") is False


def test_from_environ_takes_the_variable_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/systemd/notify")
    notifier = Notifier.from_environ()
    assert notifier.address == "/run/systemd/notify"
    assert "NOTIFY_SOCKET" not in os.environ


@pytest.mark.parametrize(("env", "pids", "expected"), [
    ({"WATCHDOG_USEC": "20000000"}, (), 10.0),
    ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, (7, 42), 10.0),
    ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, (7, 8), None),
    ({"WATCHDOG_USEC": "0"}, (), None),
    ({"WATCHDOG_USEC": "soon"}, (), None),
    ({}, (), None),
])
def test_watchdog_interval_is_half_the_timeout(
        env: dict[str, str], pids: tuple[int, ...], expected: float | None) -> None:
    assert watchdog_interval(env, pids) == expected


def test_watchdog_pings_only_while_healthy(receiver: tuple[str, socket.socket]) -> None:
    address, sock = receiver
    healthy = threading.Event()
    healthy.set()
    pinger = WatchdogPinger(Notifier(address), 0.05, healthy.is_set)
    pinger.start()
    try:
        assert [receive(sock) for _ in range(3)] == ["WATCHDOG=1"] * 3
        healthy.clear()
        # Once unhealthy: one status line, then silence instead of pings.
        while (message := receive(sock)) == "WATCHDOG=1":
            pass
        assert message == "STATUS=unhealthy: watchdog pings stopped"
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            receive(sock)
        healthy.set()
        sock.settimeout(5)
        assert receive(sock) == "WATCHDOG=1"
    finally:
        pinger.stop()


def test_a_raising_health_check_counts_as_unhealthy(receiver: tuple[str, socket.socket]) -> None:
    address, sock = receiver

    def broken() -> bool:
        raise RuntimeError("boom")

    pinger = WatchdogPinger(Notifier(address), 0.05, broken)
    pinger.start()
    try:
        assert receive(sock) == "STATUS=unhealthy: watchdog pings stopped"
    finally:
        pinger.stop()
