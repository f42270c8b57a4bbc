"""Watches Docker for deaths of this node's containers and tells their executors.

One events stream serves every executor. The stream is read on a side thread;
if it breaks (engine restarted, socket closed) the thread tells the actor,
which fails, and the supervisor starts a fresh watcher with a new stream.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from actors.base import ChildContext, SupervisedActor
from actors.directory import ActorUnavailable
from actors.router import executor_name
from node.messages import ContainerDied

log = logging.getLogger(__name__)


class _StreamBroken:
    def __init__(self, error: str) -> None:
        self.error = error


class WatcherActor(SupervisedActor):
    def __init__(self, ctx: ChildContext, *, manager: Any, names: frozenset[str]) -> None:
        super().__init__(ctx)
        self._manager = manager
        self._names = names
        self._halt = threading.Event()

    def started(self) -> None:
        me = self.actor_ref

        def read() -> None:
            try:
                for name in self._manager.watch_deaths(self._halt):
                    if name in self._names:
                        me.tell(ContainerDied(container=name))
            except Exception as exc:
                if not self._halt.is_set():
                    me.tell(_StreamBroken(f"{type(exc).__name__}: {exc}"))

        threading.Thread(target=read, name="docker-events", daemon=True).start()

    def handle(self, message: Any) -> Any:
        if isinstance(message, ContainerDied):
            log.warning("container died", extra={"container": message.container})
            try:
                self.ctx.directory.tell(executor_name(message.container), message)
            except ActorUnavailable:
                pass  # a restarting executor checks its container when it starts
        elif isinstance(message, _StreamBroken):
            raise RuntimeError(f"docker events stream broke: {message.error}")
        return None

    def stopping(self) -> None:
        self._halt.set()

    def failed(self) -> None:
        self._halt.set()
