"""The request router: admits jobs, persists them, and walks each through its containers.

A job is written to the store as ``running`` before its id is returned, so an
accepted job survives a crash: on start the router re-dispatches every runnable
pending record from the step it had reached. Work per container is bounded
(``concurrency + queue_size`` steps in flight); past that, submissions get
``Overloaded`` (HTTP 429) rather than growing memory.

Steps go straight into the container's lane (``actors.lane``), which outlives
executor restarts. After a router restart a recovered job's step may run twice
(once left in the lane by the old router, once re-sent); the second
``StepDone`` is ignored because each job tracks the step it waits for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import pykka

from actors.base import ChildContext, SupervisedActor
from actors.board import Board
from actors.directory import ActorUnavailable
from actors.lane import Lane
from node.api.service import JobRejected, Overloaded, Unavailable
from node.config.schema import Container
from node.containers import protocol
from node.guardian import GuardianRules, Rejection, check_offchain
from node.messages import (
    ChildRestarted,
    ContainerError,
    ContainerOutput,
    ContainerResult,
    Delivery,
    JobFinished,
    JobRecord,
    JobSpec,
    JobStatus,
    OpenStream,
    RecordDelivery,
    RecordStatus,
    Rejected,
    StartDraining,
    StepDone,
    StepRequest,
    StreamFinished,
    SubmitBatch,
    SubmitChainJob,
    SubmitJob,
)
from node.store.base import JobStore

log = logging.getLogger(__name__)

ROUTER = "router"


def executor_name(container: str) -> str:
    return f"executor:{container}"


class PurgeExpired(msgspec.Struct, frozen=True, tag=True):
    """Tick: drop job records whose TTL has passed."""


class InFlight(msgspec.Struct, frozen=True, tag=True):
    """Ask: how many jobs are still in flight (used while draining)."""


@dataclass
class _Running:
    spec: JobSpec
    step: StepRequest | None  # None for a stream job: its caller drives the container
    intermediate: tuple[ContainerResult, ...]
    created_at: float


class RouterActor(SupervisedActor):
    expected_errors = (JobRejected, Overloaded, Unavailable)

    def __init__(
        self,
        ctx: ChildContext,
        *,
        store: JobStore,
        rules: GuardianRules,
        containers: Mapping[str, Container],
        lanes: Mapping[str, Lane],
        board: Board,
        clock: Callable[[], float] = time.time,
        purge_every: float = 60.0,
    ) -> None:
        super().__init__(ctx)
        self._purge_every = purge_every
        self._ticker_stop = threading.Event()
        self._store = store
        self._rules = rules
        self._containers = containers
        self._lanes = lanes
        self._board = board
        self._clock = clock
        self._jobs: dict[str, _Running] = {}
        self._in_flight: dict[str, int] = dict.fromkeys(containers, 0)
        self._draining = False
        self._unflushed: dict[tuple[str, str], JobRecord] = {}
        # (job id, step) -> (times sent, container): what this generation has in lanes
        self._outstanding: dict[tuple[str, int], tuple[int, str]] = {}

    # --- lifecycle ------------------------------------------------------------

    def started(self) -> None:
        recovered = self._store.runnable_pending()
        for record in recovered:
            self._resume(record)
        if recovered:
            log.info("resumed pending jobs", extra={"count": len(recovered)})
        self._publish_counts()
        self._start_ticker()

    def _start_ticker(self) -> None:
        me, stop, every = self.actor_ref, self._ticker_stop, self._purge_every

        def tick() -> None:
            while not stop.wait(every):
                try:
                    me.tell(PurgeExpired())
                except pykka.ActorDeadError:
                    return

        threading.Thread(target=tick, name="router-purge", daemon=True).start()

    def stopping(self) -> None:
        self._ticker_stop.set()
        self._flush()

    def failed(self) -> None:
        self._ticker_stop.set()
        self._flush()  # best effort; what is lost re-runs from its running record

    def _write(self, record: JobRecord) -> None:
        """Store a record with the next group commit (a job's first write never waits)."""
        self._unflushed[(record.client, record.id)] = record

    def _flush(self) -> None:
        if self._unflushed:
            records = list(self._unflushed.values())
            self._unflushed.clear()
            self._store.put_many(records)

    def _stored(self, client: str, job_id: str) -> JobRecord | None:
        return self._unflushed.get((client, job_id)) or self._store.get(client, job_id)

    def _resume(self, record: JobRecord) -> None:
        spec = JobSpec(
            id=record.id, client=record.client, containers=record.containers,
            data=record.data or msgspec.Raw(b"null"), requires_proof=record.requires_proof,
            source=record.source, destination=record.destination, reply_to=record.reply_to,
        )
        running = _Running(spec, None, record.intermediate, record.created_at)
        if record.intermediate and isinstance(record.intermediate[-1], ContainerOutput):
            step = protocol.next_step(spec, len(record.intermediate) - 1, record.intermediate[-1])
        else:
            step = protocol.first_step(spec)
        if step is None:  # every step had finished; only the final write was lost
            self._jobs[spec.id] = running
            self._finish(spec.id, record.intermediate[-1])
            return
        running.step = step
        self._jobs[spec.id] = running
        self._dispatch(step)

    # --- messages -------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            # Group commit: under load many results are written in one transaction; when
            # the mailbox runs dry, everything is written before the router waits again.
            if self._unflushed and self.actor_inbox.empty():
                self._flush()

    def _handle(self, message: Any) -> Any:
        if isinstance(message, StepDone):
            self._step_done(message)
        elif isinstance(message, SubmitJob):
            return self._submit(message.spec)
        elif isinstance(message, SubmitChainJob):
            self._accept([message.spec])
            return message.spec.id
        elif isinstance(message, RecordDelivery):
            self._record_delivery(message)
        elif isinstance(message, SubmitBatch):
            return self._submit_batch(message.specs)
        elif isinstance(message, OpenStream):
            return self._open_stream(message.spec)
        elif isinstance(message, StreamFinished):
            self._stream_finished(message)
        elif isinstance(message, ChildRestarted):
            pass  # lanes outlive executor generations: nothing of ours was lost
        elif isinstance(message, RecordStatus):
            self._record_status(message)
        elif isinstance(message, StartDraining):
            self._draining = True
        elif isinstance(message, InFlight):
            return len(self._jobs)
        elif isinstance(message, PurgeExpired):
            dropped = self._store.purge_expired(self._clock())
            if dropped:
                log.info("expired job records dropped", extra={"count": dropped})
        else:
            raise TypeError(f"router cannot handle {type(message).__name__}")
        return None

    # --- admission --------------------------------------------------------

    def _admit(self, spec: JobSpec) -> Rejection | None:
        if self._draining:
            raise Unavailable("the node is shutting down")
        rejection = check_offchain(self._rules, spec.containers, spec.requires_proof, spec.client)
        if rejection is not None:
            return rejection
        first = spec.containers[0]
        state = self._board.container(first).state
        if state == "failed":
            detail = self._board.container(first).detail
            raise Unavailable(f"container {first} is not available: {detail}")
        limit = self._containers[first].concurrency + self._containers[first].queue_size
        if self._in_flight[first] >= limit:
            raise Overloaded(f"container {first} has {limit} jobs queued", retry_after=1)
        return None

    def _submit(self, spec: JobSpec) -> str:
        rejection = self._admit(spec)
        if rejection is not None:
            raise JobRejected(rejection.error, dict(rejection.params))
        self._accept([spec])
        return spec.id

    def _submit_batch(self, specs: tuple[JobSpec, ...]) -> list[str | Rejected]:
        answers: list[str | Rejected] = []
        accepted: list[JobSpec] = []
        for spec in specs:
            try:
                rejection = self._admit(spec)
            except (Overloaded, Unavailable) as exc:
                answers.append(Rejected(str(exc), msgspec.Raw(b"{}")))
                continue
            if rejection is not None:
                answers.append(
                    Rejected(rejection.error, msgspec.Raw(msgspec.json.encode(rejection.params)))
                )
                continue
            self._in_flight[spec.containers[0]] += 1  # reserve now so the batch sees its own load
            accepted.append(spec)
            answers.append(spec.id)
        for spec in accepted:
            self._in_flight[spec.containers[0]] -= 1
        self._accept(accepted)
        return answers

    @staticmethod
    def _record(spec: JobSpec, status: JobStatus, created_at: float, updated_at: float,
                **fields: Any) -> JobRecord:
        return JobRecord(
            id=spec.id, client=spec.client, containers=spec.containers, status=status,
            data=spec.data, requires_proof=spec.requires_proof, created_at=created_at,
            updated_at=updated_at, source=spec.source, destination=spec.destination,
            reply_to=spec.reply_to, **fields)

    def _accept(self, specs: list[JobSpec]) -> None:
        now = self._clock()
        self._store.put_many([self._record(s, "running", now, now) for s in specs])
        for spec in specs:
            step = protocol.first_step(spec)
            self._jobs[spec.id] = _Running(spec, step, (), now)
            self._dispatch(step)
            log.debug("job accepted", extra={"job_id": spec.id, "containers": spec.containers})
        self._publish_counts()

    # --- execution ---------------------------------------------------------------

    def _dispatch(self, step: StepRequest) -> None:
        key = (step.job_id, step.step)
        sent, _ = self._outstanding.get(key, (0, step.container))
        self._outstanding[key] = (sent + 1, step.container)
        self._in_flight[step.container] += 1
        self._board.container(step.container).in_flight = self._in_flight[step.container]
        self._lanes[step.container].put(step)

    def _settle_dispatch(self, done: StepDone) -> None:
        """Count a dispatched step as done. A step this router generation never sent (left
        in a lane by its predecessor) changes no counter."""
        key = (done.job_id, done.step)
        entry = self._outstanding.get(key)
        if entry is None:
            return
        left, container = entry
        if left <= 1:
            del self._outstanding[key]
        else:
            self._outstanding[key] = (left - 1, container)
        self._in_flight[container] -= 1
        self._board.container(container).in_flight = self._in_flight[container]

    def _step_done(self, done: StepDone) -> None:
        self._settle_dispatch(done)
        running = self._jobs.get(done.job_id)
        if running is None or running.step is None or running.step.step != done.step:
            return  # a duplicate: the step ran twice after a router restart
        container = running.step.container
        self._count(container, done.result, done.elapsed)
        if isinstance(done.result, ContainerError):
            self._finish(done.job_id, done.result)
            return
        nxt = protocol.next_step(running.spec, done.step, done.result)
        if nxt is None:
            self._finish(done.job_id, done.result)
            return
        running.intermediate = (*running.intermediate, done.result)
        running.step = nxt
        self._write(self._record(running.spec, "running", running.created_at, self._clock(),
                                 intermediate=running.intermediate, step=nxt.step))
        self._dispatch(nxt)

    def _finish(self, job_id: str, result: ContainerResult) -> None:
        running = self._jobs.pop(job_id)
        spec = running.spec
        status: JobStatus = "success" if isinstance(result, ContainerOutput) else "failed"
        delivery = Delivery(status="pending") if spec.reply_to and status == "success" else None
        self._write(self._record(spec, status, running.created_at, self._clock(),
                                 result=result, intermediate=running.intermediate,
                                 delivery=delivery))
        if spec.reply_to:
            try:
                self.ctx.directory.tell(spec.reply_to, JobFinished(job_id=job_id, result=result))
            except ActorUnavailable:
                # It reads finished jobs back from the store when it starts again.
                log.warning("job owner unavailable", extra={"job_id": job_id,
                                                            "actor": spec.reply_to})
        if status == "success":
            self._board.jobs_succeeded += 1
        else:
            self._board.jobs_failed += 1
        # Successes at debug keep a busy node's log (and its CPU) for what needs attention.
        log.log(logging.DEBUG if status == "success" else logging.INFO, "job finished",
                extra={"job_id": job_id, "status": status,
                       "error": result.error if isinstance(result, ContainerError) else None})
        self._publish_counts()

    def _count(self, container: str, result: ContainerResult, elapsed: float) -> None:
        gauge = self._board.container(container)
        if isinstance(result, ContainerOutput):
            gauge.succeeded += 1
        else:
            gauge.failed += 1
        gauge.total_seconds += elapsed

    def _publish_counts(self) -> None:
        self._board.jobs_running = len(self._jobs)

    # --- streams and hand-written statuses ------------------------------------

    def _open_stream(self, spec: JobSpec) -> str:
        rejection = self._admit(spec)
        if rejection is not None:
            raise JobRejected(rejection.error, dict(rejection.params))
        now = self._clock()
        self._store.put(self._record(spec, "running", now, now, runnable=False))
        self._jobs[spec.id] = _Running(spec, None, (), now)
        self._in_flight[spec.containers[0]] += 1
        self._publish_counts()
        return spec.id

    def _stream_finished(self, msg: StreamFinished) -> None:
        running = self._jobs.get(msg.job_id)
        if running is None or running.step is not None:
            return
        container = running.spec.containers[0]
        self._in_flight[container] -= 1
        self._count(container, msg.result, 0.0)
        self._finish(msg.job_id, msg.result)

    def _record_delivery(self, msg: RecordDelivery) -> None:
        record = self._stored(msg.client, msg.job_id)
        if record is None:
            return
        self._write(msgspec.structs.replace(record, delivery=msg.delivery,
                                            updated_at=self._clock()))

    def _record_status(self, msg: RecordStatus) -> None:
        now = self._clock()
        self._unflushed.pop((msg.client, msg.job_id), None)  # this newer word wins
        self._store.put(JobRecord(id=msg.job_id, client=msg.client, containers=msg.containers,
                                  status=msg.status, created_at=now, updated_at=now,
                                  runnable=False))
        if msg.status != "running":
            for name in msg.containers:
                if name in self._containers:
                    gauge = self._board.container(name)
                    if msg.status == "success":
                        gauge.succeeded += 1
                    else:
                        gauge.failed += 1
