"""One executor per workflow container: keeps the container alive and its lane's gate right.

The actor thread only keeps state. Docker calls (pull, start, readiness) run on
a lifecycle thread that reports back with ``tell``. Steps never pass through this
actor: the router puts them in the container's lane (``actors.lane``), whose gate
this actor opens when the container answers, closes while it (re)starts, and
sets failing after too many failed starts, so steps are answered with the
cause (the other containers are unaffected). When Docker reports the container
dead, the executor restarts it with backoff.

A crash of this actor stops neither the container nor its lane: the next
generation finds both (same config) and carries on. A normal stop stops and
removes the container.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import msgspec

from actors.base import ChildContext, SupervisedActor
from actors.board import Board
from actors.lane import Lane
from actors.restart_policy import RestartPolicy
from node.config.schema import Container
from node.messages import ContainerDied, ContainerReady, ContainerStartFailed
from node.progress import PullProgress

log = logging.getLogger(__name__)


class ExecutorActor(SupervisedActor):
    def __init__(
        self,
        ctx: ChildContext,
        *,
        spec: Container,
        lane: Lane,
        board: Board,
        manager: Any | None = None,  # DockerManager; None when containers are not managed
        ready_timeout: float = 120.0,
        start_attempts: int = 5,
        policy: RestartPolicy | None = None,
    ) -> None:
        super().__init__(ctx)
        self._spec = spec
        self._lane = lane
        self._board = board
        self._manager = manager
        self._ready_timeout = ready_timeout
        self._start_attempts = start_attempts
        self._policy = policy or RestartPolicy(backoff_initial=0.5, backoff_max=15.0)
        self._state = "starting"
        self._detail = ""
        self._attempt = 0
        self._failed_starts = 0
        self._halt = threading.Event()

    # --- lifecycle ---------------------------------------------------------

    def started(self) -> None:
        if self._manager is None:
            self._set_state("ready")
        else:
            self._launch_lifecycle(delay=0.0)

    def stopping(self) -> None:
        self._halt.set()
        self._lane.shutdown()
        if self._manager is not None:
            try:
                self._manager.stop(self._spec.id, remove=True, timeout=10.0)
            except Exception as exc:
                log.warning("could not stop container",
                            extra={"container": self._spec.id, "error": str(exc)})
        self._set_state("stopped")

    def failed(self) -> None:
        # Leave the container and its lane as they are: the next generation adopts both.
        self._halt.set()

    # --- messages ------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        if isinstance(message, ContainerReady):
            if message.attempt == self._attempt:
                self._failed_starts = 0
                self._set_state("ready")
        elif isinstance(message, ContainerStartFailed):
            if message.attempt == self._attempt:
                self._start_failed(message.error)
        elif isinstance(message, ContainerDied):
            if self._state == "ready" and self._manager is not None:
                log.warning("container died; restarting", extra={"container": self._spec.id})
                self._board.container(self._spec.id).restarts += 1
                self._launch_lifecycle(delay=0.0)
        else:
            raise TypeError(f"executor cannot handle {type(message).__name__}")
        return None

    # --- container lifecycle -------------------------------------------------

    def _launch_lifecycle(self, delay: float) -> None:
        self._attempt += 1
        attempt = self._attempt
        self._set_state("starting" if attempt == 1 else "restarting")
        me = self.actor_ref
        manager = self._manager
        assert manager is not None
        spec = self._spec

        def lifecycle() -> None:
            if delay and self._halt.wait(delay):
                return
            try:
                progress = PullProgress(spec.image)
                try:
                    manager.ensure_image(spec.image, progress)
                finally:
                    progress.close()
                manager.start(spec)
                manager.wait_ready(spec, self._ready_timeout, self._halt)
                direct = manager.direct_address(spec)
            except Exception as exc:
                if not self._halt.is_set():
                    me.tell(ContainerStartFailed(container=spec.id, attempt=attempt,
                                                 error=str(exc)))
                return
            lane = self._lane
            lane.endpoint = lane.published if direct is None or spec.url else \
                msgspec.structs.replace(lane.published, base_url=f"http://{direct[0]}:{direct[1]}")
            log.info("container calls go to", extra={"container": spec.id,
                                                      "url": lane.endpoint.base_url})
            me.tell(ContainerReady(container=spec.id, attempt=attempt))

        threading.Thread(target=lifecycle, name=f"lifecycle-{spec.id}", daemon=True).start()

    def _start_failed(self, error: str) -> None:
        self._failed_starts += 1
        log.error("container failed to start",
                  extra={"container": self._spec.id, "attempt": self._failed_starts,
                         "error": error})
        if self._failed_starts >= self._start_attempts:
            self._detail = error
            self._set_state("failed")
            return
        self._launch_lifecycle(delay=self._policy.backoff(self._failed_starts))

    def _set_state(self, state: str) -> None:
        self._state = state
        if state == "ready":
            self._lane.open()
        elif state == "failed":
            self._lane.fail(f"container {self._spec.id} is not available: {self._detail}")
        elif state in ("starting", "restarting"):
            self._lane.close()
        gauge = self._board.container(self._spec.id)
        gauge.state = state
        gauge.detail = self._detail
        log.info("container state", extra={"container": self._spec.id, "state": state,
                                           "detail": self._detail})
