"""The base of every supervised actor: failures always reach the supervisor.

pykka's own rules leave gaps a supervisor would fall into:
- an exception in a ``tell`` handler stops the actor and calls ``on_failure``;
- an exception in an ``ask`` handler goes to the caller's future and the actor
  keeps running (possibly with broken state);
- an exception in ``on_start`` stops the actor without calling ``on_failure``.

``SupervisedActor`` closes them: it reports every unexpected exception (from a
tell, an ask or ``on_start``) to its supervisor exactly once, and after a failure
refuses further work until the supervisor replaces it. Exceptions listed in
``expected_errors`` are answers meant for an asking caller (a rejected job, a
full queue) and are not failures.

Lifecycle: ``__init__`` (caller's thread) -> ``started()`` (actor thread, before
any message) -> ``handle()`` per message -> ``stopping()`` on a normal stop.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar

import pykka

from actors.directory import Directory
from node.messages import ChildFailed

log = logging.getLogger(__name__)


class Ping:
    """Readiness probe: answered once ``started()`` has completed."""


class InjectedFault:
    """A message that makes any supervised actor fail, as a bug would (resilience tests)."""


class ActorFailed(Exception):
    """The actor failed earlier and is waiting to be replaced."""


@dataclass(frozen=True)
class ChildContext:
    """What the supervisor gives each child it starts."""

    name: str
    generation: int
    directory: Directory
    report_failure: Callable[[ChildFailed], None]


class SupervisedActor(pykka.ThreadingActor):
    expected_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    use_daemon_thread = True

    def __init__(self, ctx: ChildContext) -> None:
        super().__init__()
        self.ctx = ctx
        self._failure: str | None = None

    # --- hooks for subclasses --------------------------------------------

    def started(self) -> None:
        """Set up in the actor's thread before the first message."""

    def handle(self, message: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} got {type(message).__name__}")

    def stopping(self) -> None:
        """Release resources on a normal stop."""

    def failed(self) -> None:
        """Release resources after a failure (best effort)."""

    # --- pykka plumbing ---------------------------------------------------

    def on_start(self) -> None:
        try:
            self.started()
        except Exception as exc:
            self._report(exc)
            raise

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Ping):
            return True
        if isinstance(message, InjectedFault):
            self._report(RuntimeError("fault injected on purpose"))
            raise RuntimeError("fault injected on purpose")
        if self._failure is not None:
            raise ActorFailed(f"{self.ctx.name} failed: {self._failure}")
        try:
            return self.handle(message)
        except self.expected_errors:
            raise
        except Exception as exc:
            self._report(exc)
            raise

    def on_stop(self) -> None:
        self.stopping()

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exception_value, Exception):
            self._report(exception_value)

    def _report(self, exc: Exception) -> None:
        if self._failure is not None:
            return
        self._failure = f"{type(exc).__name__}: {exc}"
        log.error(
            "actor failed",
            extra={"actor": self.ctx.name, "generation": self.ctx.generation,
                   "error": self._failure},
            exc_info=sys.exc_info()[0] is not None,
        )
        try:
            self.failed()
        except Exception:
            log.exception("cleanup after failure failed", extra={"actor": self.ctx.name})
        self.ctx.report_failure(
            ChildFailed(name=self.ctx.name, generation=self.ctx.generation, error=self._failure)
        )
