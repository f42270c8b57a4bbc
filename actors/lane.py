"""A container's work lane: the queue of steps waiting for it and the threads that call it.

The router puts steps straight into the lane (no actor mailbox in between: the hot
path of every job), and ``concurrency`` worker threads call the container. The
lane's gate is driven by the container's executor actor: closed while the
container starts or restarts (steps wait, in order), open when it answers,
failing when it cannot be started (steps are answered with the reason).

Lanes belong to the node, not to an executor generation: an executor that
crashes and restarts finds its queued and in-flight steps where they were, so
nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from node.containers.client import ContainerEndpoint
from node.messages import ContainerError, ContainerResult, StepRequest

log = logging.getLogger(__name__)

Reply = Callable[[StepRequest, ContainerResult, float], None]
Call = Callable[[ContainerEndpoint, StepRequest], ContainerResult]


class Lane:
    def __init__(self, endpoint: ContainerEndpoint, concurrency: int, call: Call,
                 reply: Reply) -> None:
        self.container = endpoint.container
        container = endpoint.container
        # The configured/published endpoint, and the one calls use: the executor points the
        # latter at the container's own address when that is reachable more directly.
        self.published = endpoint
        self.endpoint = endpoint
        self._call = call
        self._reply = reply
        self._queue: queue.SimpleQueue[StepRequest | None] = queue.SimpleQueue()
        self._gate = threading.Condition()
        self._state = "closed"  # "closed" | "open" | "failing"
        self._reason = ""
        self._workers = [
            threading.Thread(target=self._work, name=f"call-{container}-{i}", daemon=True)
            for i in range(max(concurrency, 1))
        ]
        for worker in self._workers:
            worker.start()

    # --- the router's side ---------------------------------------------------------

    def put(self, step: StepRequest) -> None:
        self._queue.put(step)

    # --- the executor's side ---------------------------------------------------------

    def open(self) -> None:
        self._set("open", "")

    def close(self) -> None:
        self._set("closed", "")

    def fail(self, reason: str) -> None:
        self._set("failing", reason)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Answer what is still queued with an error and stop the workers."""
        self.fail("the node is shutting down")
        for _ in self._workers:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0.0))

    def _set(self, state: str, reason: str) -> None:
        with self._gate:
            self._state, self._reason = state, reason
            self._gate.notify_all()

    # --- the workers ---------------------------------------------------------------

    def _work(self) -> None:
        while True:
            step = self._queue.get()
            if step is None:
                return
            with self._gate:
                while self._state == "closed":
                    self._gate.wait()
                state, reason = self._state, self._reason
            started = time.monotonic()
            if state == "failing":
                result: ContainerResult = ContainerError(container=self.container, error=reason)
            else:
                try:
                    result = self._call(self.endpoint, step)
                except Exception as exc:  # the client answers faults itself; this is a bug
                    log.exception("container call failed unexpectedly",
                                  extra={"container": self.container, "job_id": step.job_id})
                    result = ContainerError(container=self.container, error=str(exc))
            self._reply(step, result, time.monotonic() - started)
