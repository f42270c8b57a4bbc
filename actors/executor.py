"""One executor per workflow container: keeps the container alive and runs steps on it.

The actor thread only keeps state. Slow work happens beside it: Docker calls
(pull, start, readiness) on a lifecycle thread, and container HTTP calls on a
pool of ``concurrency`` threads; both report back with ``tell``. Steps that
arrive while the container is (re)starting wait in order and run once it is
ready. When Docker reports the container dead, the executor restarts it with
backoff; after too many failed starts it gives up and answers steps with an
error naming the cause (the other containers are unaffected).

A crash of this actor does not stop the container: the next generation finds
it running (same config) and carries on. A normal stop stops and removes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.base import ChildContext, SupervisedActor
from actors.board import Board
from actors.directory import ActorUnavailable
from actors.restart_policy import RestartPolicy
from actors.router import ROUTER
from node.config.schema import Container
from node.containers.client import ContainerClient, ContainerEndpoint
from node.messages import (
    ContainerDied,
    ContainerError,
    ContainerReady,
    ContainerStartFailed,
    StepDone,
    StepRequest,
)
from node.progress import PullProgress

log = logging.getLogger(__name__)


class ExecutorActor(SupervisedActor):
    def __init__(
        self,
        ctx: ChildContext,
        *,
        spec: Container,
        endpoint: ContainerEndpoint,
        client: ContainerClient,
        board: Board,
        manager: Any | None = None,  # DockerManager; None when containers are not managed
        ready_timeout: float = 120.0,
        start_attempts: int = 5,
        policy: RestartPolicy | None = None,
    ) -> None:
        super().__init__(ctx)
        self._spec = spec
        self._endpoint = endpoint
        self._client = client
        self._board = board
        self._manager = manager
        self._ready_timeout = ready_timeout
        self._start_attempts = start_attempts
        self._policy = policy or RestartPolicy(backoff_initial=0.5, backoff_max=15.0)
        self._state = "starting"
        self._detail = ""
        self._waiting: deque[StepRequest] = deque()
        self._attempt = 0
        self._failed_starts = 0
        self._halt = threading.Event()
        self._pool: ThreadPoolExecutor | None = None

    # --- lifecycle ---------------------------------------------------------

    def started(self) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=max(self._spec.concurrency, 1),
            thread_name_prefix=f"call-{self._spec.id}",
        )
        if self._manager is None:
            self._set_state("ready")
        else:
            self._launch_lifecycle(delay=0.0)

    def stopping(self) -> None:
        self._halt.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._fail_waiting("the node is shutting down")
        if self._manager is not None:
            try:
                self._manager.stop(self._spec.id, remove=True, timeout=10.0)
            except Exception as exc:
                log.warning("could not stop container",
                            extra={"container": self._spec.id, "error": str(exc)})
        self._set_state("stopped")

    def failed(self) -> None:
        # Leave the container running: the next generation of this actor adopts it.
        self._halt.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # --- messages ------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        if isinstance(message, StepRequest):
            self._step(message)
        elif isinstance(message, ContainerReady):
            if message.attempt == self._attempt:
                self._failed_starts = 0
                self._set_state("ready")
                while self._waiting:
                    self._run(self._waiting.popleft())
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

    def _step(self, step: StepRequest) -> None:
        if self._state == "ready":
            self._run(step)
        elif self._state == "failed":
            self._reply(step, ContainerError(
                container=self._spec.id,
                error=f"container {self._spec.id} is not available: {self._detail}"))
        else:
            self._waiting.append(step)

    def _run(self, step: StepRequest) -> None:
        assert self._pool is not None
        started = time.monotonic()

        def call() -> None:
            result = self._client.call(self._endpoint, step)
            self._reply(step, result, time.monotonic() - started)

        self._pool.submit(call)

    def _reply(self, step: StepRequest, result: Any, elapsed: float = 0.0) -> None:
        try:
            self.ctx.directory.tell(
                ROUTER, StepDone(job_id=step.job_id, step=step.step, result=result,
                                 elapsed=elapsed))
        except ActorUnavailable:
            # The router re-reads its pending jobs when it restarts; nothing is lost.
            log.warning("router unavailable; step result dropped",
                        extra={"job_id": step.job_id, "step": step.step})

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
            except Exception as exc:
                if not self._halt.is_set():
                    me.tell(ContainerStartFailed(container=spec.id, attempt=attempt,
                                                 error=str(exc)))
                return
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
            self._fail_waiting(f"container {self._spec.id} is not available: {error}")
            return
        self._launch_lifecycle(delay=self._policy.backoff(self._failed_starts))

    def _fail_waiting(self, error: str) -> None:
        while self._waiting:
            self._reply(self._waiting.popleft(), ContainerError(container=self._spec.id,
                                                                error=error))

    def _set_state(self, state: str) -> None:
        self._state = state
        gauge = self._board.container(self._spec.id)
        gauge.state = state
        gauge.detail = self._detail
        log.info("container state", extra={"container": self._spec.id, "state": state,
                                           "detail": self._detail})
