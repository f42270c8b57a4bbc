"""systemd's notify protocol (sd_notify(3)) in plain Python: no libsystemd needed.

A message is ``KEY=VALUE`` lines in one datagram to the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` means the abstract namespace). Outside
systemd the variable is unset and every call is a no-op.

The gunicorn worker (a child of the main process) sends the messages, so the
unit needs ``NotifyAccess=all``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"


def socket_address(name: str) -> str:
    """The address to send to: ``@name`` becomes an abstract-namespace address."""
    return "\0" + name[1:] if name.startswith("@") else name


def watchdog_interval(env: Mapping[str, str], pids: tuple[int, ...] = ()) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``WATCHDOG_USEC``), or None when off.

    ``WATCHDOG_PID`` names the process systemd watches; ``pids`` are the processes
    allowed to ping for it (the worker passes its own pid and its master's).
    """
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    if usec <= 0:
        return None
    watched = env.get("WATCHDOG_PID")
    if watched and pids and not any(watched == str(pid) for pid in pids):
        return None
    return usec / 2 / 1_000_000


class Notifier:
    """Sends notify messages to one socket; does nothing when ``address`` is None."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None

    @classmethod
    def from_environ(cls, *, unset: bool = True) -> Notifier:
        """Take ``$NOTIFY_SOCKET`` from the environment.

        ``unset`` removes it so nothing else in this process tree (gunicorn's own
        premature READY=1, workflow tooling) sends on our behalf.
        """
        name = os.environ.pop(NOTIFY_SOCKET, None) if unset else os.environ.get(NOTIFY_SOCKET)
        return cls(name)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``, ``"STATUS=..."``) as one message; False on failure."""
        if self.address is None or not fields:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(socket_address(self.address))
                sock.sendall(message)
        except OSError as exc:
            log.warning("systemd notify failed", extra={"detail": str(exc)})
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")


class WatchdogPinger:
    """Sends WATCHDOG=1 every ``interval`` seconds while ``healthy()`` holds.

    When the node is unhealthy the pings stop, so systemd's watchdog fires and
    (with ``Restart=on-failure``) restarts the node.
    """

    def __init__(self, notifier: Notifier, interval: float, healthy: Callable[[], bool]) -> None:
        self._notifier = notifier
        self._interval = interval
        self._healthy = healthy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        was_healthy = True
        while not self._stop.is_set():
            healthy = self._is_healthy()
            if healthy:
                self._notifier.watchdog()
                if not was_healthy:
                    self._notifier.status("healthy again")
                    log.info("node healthy again; watchdog pings resume")
            elif was_healthy:
                self._notifier.status("unhealthy: watchdog pings stopped")
                log.warning("node unhealthy; watchdog pings stop so systemd restarts the node")
            was_healthy = healthy
            self._stop.wait(self._interval)

    def _is_healthy(self) -> bool:
        try:
            return bool(self._healthy())
        except Exception:
            log.exception("health check failed")
            return False
