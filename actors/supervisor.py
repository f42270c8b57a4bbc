"""One-for-one supervision for pykka actors.

Children are described by ``ChildSpec`` values and started in order, each
behind a readiness barrier (the next one starts only after the previous one
answered a ``Ping``); they stop in reverse order. When a child fails, only that
child is replaced, after an exponential backoff with jitter, under a new
generation number; other actors notice nothing but the ``ChildRestarted`` event
sent to the names in ``notify``. If restarts exceed the policy's intensity
(N within T seconds) the supervisor stops restarting and escalates through
``on_escalate`` — the node turns that into a non-zero exit so its process
manager can start it afresh, instead of serving /health with dead workers.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pykka

from actors.base import ChildContext, Ping
from actors.directory import ActorUnavailable, Directory
from actors.restart_policy import RestartIntensity, RestartPolicy
from node.messages import ChildFailed, ChildRestarted, RestartChild

log = logging.getLogger(__name__)

RestartMode = Literal["permanent", "temporary"]


@dataclass(frozen=True)
class ChildSpec:
    """How to start one child, as data."""

    name: str
    factory: Callable[[ChildContext], pykka.ActorRef[Any]]
    restart: RestartMode = "permanent"
    ready_timeout: float = 30.0
    stop_timeout: float = 10.0


@dataclass
class _Child:
    spec: ChildSpec
    ref: pykka.ActorRef[Any] | None = None
    generation: int = 0
    restarts: int = 0
    consecutive: int = 0
    started_at: float = 0.0
    last_error: str = ""
    state: str = "stopped"


@dataclass(frozen=True)
class StartChildren:
    """Ask: start every child in order; answers the names started."""


@dataclass(frozen=True)
class StopChildren:
    """Ask: stop every child in reverse order."""


@dataclass(frozen=True)
class SupervisorStatus:
    """Ask: a snapshot of every child."""


@dataclass(frozen=True)
class ChildInfo:
    name: str
    state: str
    generation: int
    restarts: int
    last_error: str


class ChildStartError(Exception):
    pass


@dataclass
class _Timers:
    pending: set[threading.Timer] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Supervisor(pykka.ThreadingActor):
    use_daemon_thread = True

    def __init__(
        self,
        specs: list[ChildSpec],
        directory: Directory,
        *,
        policy: RestartPolicy | None = None,
        on_escalate: Callable[[str], None] | None = None,
        notify: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        rand: random.Random | None = None,
    ) -> None:
        super().__init__()
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate child names in {names}")
        self._children = {s.name: _Child(spec=s) for s in specs}
        self._order = names
        self._directory = directory
        self._policy = policy or RestartPolicy()
        self._intensity = RestartIntensity(self._policy)
        self._on_escalate = on_escalate
        self._notify = notify
        self._clock = clock
        self._rand = rand or random.Random()
        self._timers = _Timers()
        self._escalated = False
        self._stopping = False

    # --- messages ---------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, ChildFailed):
            self._child_failed(message)
        elif isinstance(message, RestartChild):
            self._restart(message)
        elif isinstance(message, StartChildren):
            return self._start_all()
        elif isinstance(message, StopChildren):
            self._stop_all()
        elif isinstance(message, SupervisorStatus):
            return [
                ChildInfo(c.spec.name, c.state, c.generation, c.restarts, c.last_error)
                for c in (self._children[n] for n in self._order)
            ]
        elif isinstance(message, Ping):
            return True
        else:
            log.warning("supervisor ignored a message", extra={"type": type(message).__name__})
        return None

    def on_stop(self) -> None:
        self._cancel_timers()

    # --- start / stop -----------------------------------------------------

    def _context(self, child: _Child) -> ChildContext:
        ref = self.actor_ref

        def report(msg: ChildFailed) -> None:
            try:
                ref.tell(msg)
            except pykka.ActorDeadError:
                pass  # the supervisor itself is gone: shutdown is under way

        return ChildContext(child.spec.name, child.generation, self._directory, report)

    def _launch(self, child: _Child) -> pykka.ActorRef[Any]:
        ref = child.spec.factory(self._context(child))
        child.ref = ref
        child.started_at = self._clock()
        child.state = "running"
        self._directory.register(child.spec.name, ref)
        return ref

    def _start_all(self) -> list[str]:
        started: list[str] = []
        for name in self._order:
            child = self._children[name]
            try:
                ref = self._launch(child)
                ref.ask(Ping(), timeout=child.spec.ready_timeout)
            except Exception as exc:
                child.state = "failed"
                child.last_error = f"{type(exc).__name__}: {exc}"
                log.error("child failed to start",
                          extra={"actor": name, "error": child.last_error})
                self._stop_all()
                raise ChildStartError(f"{name} failed to start: {child.last_error}") from exc
            started.append(name)
            log.info("child started", extra={"actor": name})
        return started

    def _stop_all(self) -> None:
        self._stopping = True
        self._cancel_timers()
        for name in reversed(self._order):
            child = self._children[name]
            if child.ref is None:
                continue
            try:
                child.ref.stop(timeout=child.spec.stop_timeout)
            except pykka.Timeout:
                log.warning("child did not stop in time", extra={"actor": name})
            except Exception:
                log.exception("child stop failed", extra={"actor": name})
            self._directory.unregister(name, child.ref)
            child.state = "stopped"

    # --- failures and restarts ------------------------------------------

    def _child_failed(self, msg: ChildFailed) -> None:
        child = self._children.get(msg.name)
        if child is None or msg.generation != child.generation or child.state != "running":
            return  # a late report about a generation already replaced
        child.state = "failed"
        child.last_error = msg.error
        if child.ref is not None:
            self._directory.unregister(msg.name, child.ref)
            child.ref.stop(block=False)  # an ask failure leaves the thread alive
        if self._stopping or child.spec.restart == "temporary":
            return
        now = self._clock()
        if now - child.started_at > self._policy.stable_after:
            child.consecutive = 0
        child.consecutive += 1
        if not self._intensity.record(now):
            self._escalate(
                f"restart intensity exceeded: {self._intensity.recent} restarts within "
                f"{self._policy.within:g}s (last: {msg.name}: {msg.error})"
            )
            return
        delay = self._policy.backoff(child.consecutive, self._rand)
        child.state = "restarting"
        log.warning("child will restart",
                    extra={"actor": msg.name, "generation": msg.generation,
                           "delay": round(delay, 3), "error": msg.error})
        self._schedule(delay, RestartChild(name=msg.name, generation=msg.generation))

    def _restart(self, msg: RestartChild) -> None:
        child = self._children.get(msg.name)
        if child is None or child.generation != msg.generation or self._stopping:
            return
        child.generation += 1
        child.restarts += 1
        self._launch(child)
        log.info("child restarted",
                 extra={"actor": msg.name, "generation": child.generation,
                        "restarts": child.restarts})
        event = ChildRestarted(name=msg.name, generation=child.generation,
                               restarts=child.restarts)
        for target in self._notify:
            try:
                self._directory.tell(target, event)
            except ActorUnavailable:
                pass  # that actor is restarting too; it rebuilds its view on start

    def _escalate(self, reason: str) -> None:
        if self._escalated:
            return
        self._escalated = True
        log.critical("supervisor escalates", extra={"reason": reason})
        if self._on_escalate is not None:
            self._on_escalate(reason)

    # --- timers ------------------------------------------------------------

    def _schedule(self, delay: float, message: Any) -> None:
        ref = self.actor_ref

        def fire() -> None:
            with self._timers.lock:
                self._timers.pending.discard(timer)
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(message)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._timers.lock:
            self._timers.pending.add(timer)
        timer.start()

    def _cancel_timers(self) -> None:
        with self._timers.lock:
            for t in self._timers.pending:
                t.cancel()
            self._timers.pending.clear()
