"""Immutable values that pass between actors, the store and the REST layer.

Every message is a frozen ``msgspec.Struct``. Arbitrary JSON (job inputs,
container outputs) travels as ``msgspec.Raw``: immutable bytes that are
forwarded to containers and clients without being decoded again.
Message families are tagged unions so that a whole family can be encoded,
logged or persisted with one decoder.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec


class JobLocation(enum.IntEnum):
    """Where a job's input came from / where its result goes (wire integers)."""

    ONCHAIN = 0
    OFFCHAIN = 1
    STREAM = 2


JobStatus = Literal["running", "success", "failed"]
JOB_STATUSES: tuple[JobStatus, ...] = ("running", "success", "failed")


# --- container results -------------------------------------------------------


class ContainerOutput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A container answered with a JSON body (kept verbatim as raw JSON)."""

    container: str
    output: msgspec.Raw


class ContainerError(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A container call failed; ``error`` is the container's text or the cause."""

    container: str
    error: str


ContainerResult = ContainerOutput | ContainerError


# --- jobs --------------------------------------------------------------------


class JobSpec(msgspec.Struct, frozen=True):
    """What a client asked for: validated, with the id and client key assigned by us."""

    id: str
    client: str
    containers: tuple[str, ...]
    data: msgspec.Raw
    requires_proof: bool = False
    source: JobLocation = JobLocation.OFFCHAIN
    destination: JobLocation = JobLocation.OFFCHAIN
    # Actor told ``JobFinished`` when the job ends (the chain scheduler for on-chain work).
    reply_to: str = ""


class Delivery(msgspec.Struct, frozen=True):
    """Where an on-chain delivery of a job's result stands."""

    status: Literal["pending", "sent", "mined", "reverted", "failed"]
    tx_hash: str | None = None
    block_number: int | None = None
    error: str | None = None


class JobRecord(msgspec.Struct, frozen=True):
    """A job as persisted by the store and shown over the REST API."""

    id: str
    client: str
    containers: tuple[str, ...]
    status: JobStatus
    data: msgspec.Raw | None = None
    requires_proof: bool = False
    result: ContainerResult | None = None
    intermediate: tuple[ContainerResult, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0
    # False for records written by hand through PUT /api/status: nobody runs them.
    runnable: bool = True
    # Set while a job is running: how far the chain has got.
    step: int = 0
    source: JobLocation = JobLocation.OFFCHAIN
    destination: JobLocation = JobLocation.OFFCHAIN
    reply_to: str = ""
    delivery: Delivery | None = None


# --- router messages ---------------------------------------------------------


class StepRequest(msgspec.Struct, frozen=True, tag=True):
    """Router -> executor: run one container step of a job."""

    job_id: str
    step: int
    container: str
    source: JobLocation
    destination: JobLocation
    data: msgspec.Raw
    requires_proof: bool


class JobFinished(msgspec.Struct, frozen=True, tag=True):
    """Router -> a job's ``reply_to``: the last container result (or the first error)."""

    job_id: str
    result: ContainerResult


class RecordDelivery(msgspec.Struct, frozen=True, tag=True):
    """Chain scheduler -> router: note a delivery's progress on the job's record."""

    client: str
    job_id: str
    delivery: Delivery


class SubmitChainJob(msgspec.Struct, frozen=True, tag=True):
    """Chain scheduler -> router: run a job the node itself decided to run (no admission
    rules, no queue limit: the scheduler bounds its own work)."""

    spec: JobSpec


class StepDone(msgspec.Struct, frozen=True, tag=True):
    """Executor -> router: one step finished (successfully or not)."""

    job_id: str
    step: int
    result: ContainerResult
    elapsed: float = 0.0


class ContainerStateChanged(msgspec.Struct, frozen=True, tag=True):
    """Executor -> interested actors: the managed container changed state."""

    container: str
    state: Literal["starting", "ready", "unhealthy", "restarting", "stopped", "failed"]
    detail: str = ""


# --- supervision messages ----------------------------------------------------


class ChildFailed(msgspec.Struct, frozen=True, tag=True):
    """A supervised actor died; sent to its supervisor."""

    name: str
    generation: int
    error: str


class RestartChild(msgspec.Struct, frozen=True, tag=True):
    """Supervisor -> itself, after the backoff delay."""

    name: str
    generation: int


class ChildRestarted(msgspec.Struct, frozen=True, tag=True):
    """Supervisor -> subscribers: a child is running again under a new ref."""

    name: str
    generation: int
    restarts: int


SupervisionMessage = ChildFailed | RestartChild | ChildRestarted
RouterEvent = StepDone | ContainerStateChanged | ChildRestarted


# --- requests to the router (asks from the REST facade) ---------------------


class SubmitJob(msgspec.Struct, frozen=True, tag=True):
    spec: JobSpec


class SubmitBatch(msgspec.Struct, frozen=True, tag=True):
    specs: tuple[JobSpec, ...]


class Rejected(msgspec.Struct, frozen=True, tag=True):
    """A guardian refusal carried as a value (batch items are answered, not raised)."""

    error: str
    params: msgspec.Raw


class OpenStream(msgspec.Struct, frozen=True, tag=True):
    spec: JobSpec


class StreamFinished(msgspec.Struct, frozen=True, tag=True):
    job_id: str
    result: ContainerResult


class RecordStatus(msgspec.Struct, frozen=True, tag=True):
    client: str
    job_id: str
    status: JobStatus
    containers: tuple[str, ...]


class StartDraining(msgspec.Struct, frozen=True, tag=True):
    """Stop admitting work; finish what is in flight."""


# --- executor lifecycle -----------------------------------------------------


class ContainerReady(msgspec.Struct, frozen=True, tag=True):
    container: str
    attempt: int


class ContainerStartFailed(msgspec.Struct, frozen=True, tag=True):
    container: str
    attempt: int
    error: str


class ContainerDied(msgspec.Struct, frozen=True, tag=True):
    container: str
