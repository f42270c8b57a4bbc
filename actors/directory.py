"""Actors are addressed by name: a restarted actor is a new ref under the same name.

Only the supervisor writes here; any thread may read. A message to a name whose
actor is down (crashed, restarting) raises ``ActorUnavailable`` instead of
vanishing, so the sender can decide to retry or fail the work.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka


class ActorUnavailable(Exception):
    """No live actor is registered under the name right now."""


class Directory:
    def __init__(self) -> None:
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            self._refs[name] = ref

    def unregister(self, name: str, ref: pykka.ActorRef[Any] | None = None) -> None:
        with self._lock:
            if ref is None or self._refs.get(name) is ref:
                self._refs.pop(name, None)

    def get(self, name: str) -> pykka.ActorRef[Any]:
        ref = self._refs.get(name)
        if ref is None or not ref.is_alive():
            raise ActorUnavailable(name)
        return ref

    def names(self) -> list[str]:
        with self._lock:
            return list(self._refs)

    def tell(self, name: str, message: Any) -> None:
        try:
            self.get(name).tell(message)
        except pykka.ActorDeadError as exc:
            raise ActorUnavailable(name) from exc

    def ask(self, name: str, message: Any, timeout: float) -> Any:
        """Request/response with a deadline; raises ActorUnavailable or pykka.Timeout."""
        try:
            return self.get(name).ask(message, timeout=timeout)
        except pykka.ActorDeadError as exc:
            raise ActorUnavailable(name) from exc
