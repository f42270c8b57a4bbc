"""How job records are stored: their JSON bytes and the moment they stop being kept.

Both backends use these so that a record written by one node (or one backend)
reads back identically everywhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import msgspec

from node.messages import (
    ContainerError,
    ContainerOutput,
    ContainerResult,
    Delivery,
    JobLocation,
    JobRecord,
    JobStatus,
)
from node.store.base import StoreError

FINISHED_STATUSES = frozenset({"success", "failed"})


_NULL = msgspec.Raw(b"null")


class _StoredResult(msgspec.Struct, frozen=True):
    # ContainerOutput | ContainerError is an untagged union of two Structs, which
    # msgspec cannot decode directly; the key present ("error") tells them apart.
    container: str
    output: msgspec.Raw = _NULL
    error: str | None = None

    def to_result(self) -> ContainerResult:
        if self.error is not None:
            return ContainerError(container=self.container, error=self.error)
        return ContainerOutput(container=self.container, output=self.output)


class _StoredRecord(msgspec.Struct, frozen=True):
    id: str
    client: str
    containers: tuple[str, ...]
    status: JobStatus
    # Raw cannot be part of a union; JSON null stands for "no data".
    data: msgspec.Raw = _NULL
    requires_proof: bool = False
    result: _StoredResult | None = None
    intermediate: tuple[_StoredResult, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0
    runnable: bool = True
    step: int = 0
    source: JobLocation = JobLocation.OFFCHAIN
    destination: JobLocation = JobLocation.OFFCHAIN
    reply_to: str = ""
    delivery: Delivery | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_StoredRecord)


def encode_record(record: JobRecord) -> bytes:
    """JSON bytes of a record; Raw fields (job data, container outputs) go in verbatim."""
    return _encoder.encode(record)


def decode_record(data: bytes | str) -> JobRecord:
    """The record encoded by ``encode_record``; raises msgspec.DecodeError if corrupt."""
    stored = _decoder.decode(data)
    return JobRecord(
        id=stored.id,
        client=stored.client,
        containers=stored.containers,
        status=stored.status,
        data=None if bytes(stored.data) == b"null" else stored.data,
        requires_proof=stored.requires_proof,
        result=None if stored.result is None else stored.result.to_result(),
        intermediate=tuple(r.to_result() for r in stored.intermediate),
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        runnable=stored.runnable,
        step=stored.step,
        source=stored.source,
        destination=stored.destination,
        reply_to=stored.reply_to,
        delivery=stored.delivery,
    )


def is_finished(record: JobRecord) -> bool:
    return record.status in FINISHED_STATUSES


def is_recoverable(record: JobRecord) -> bool:
    """A running record that the node will run again after a restart."""
    return record.status == "running" and record.runnable


def expires_at(record: JobRecord, *, finished_ttl: float, running_ttl: float) -> float | None:
    """When the record stops being kept, or None if it is kept until it finishes.

    Runnable running records never expire: they are run again after a restart.
    """
    if is_finished(record):
        return record.updated_at + finished_ttl
    if record.runnable:
        return None
    return record.updated_at + running_ttl


@contextlib.contextmanager
def store_errors(action: str, backend_errors: tuple[type[Exception], ...]) -> Iterator[None]:
    """Re-raise a backend failure or a corrupt record as StoreError naming the action."""
    try:
        yield
    except msgspec.DecodeError as exc:
        raise StoreError(f"{action}: corrupt job record: {exc}") from exc
    except backend_errors as exc:
        raise StoreError(f"{action}: {exc}") from exc
