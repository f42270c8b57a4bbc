"""The boundary between the REST layer and the node: what resources may ask for.

The REST app depends on this protocol only; the actor system implements it
(``actors.facade``) and unit tests use a fake.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import msgspec

from node.messages import JobRecord, JobStatus


class JobRejected(Exception):
    """The guardian refused a request: HTTP 405 with error and params (original contract)."""

    def __init__(self, error: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.params = params or {}


class Overloaded(Exception):
    """A bounded queue is full: HTTP 429 with Retry-After."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(Exception):
    """The node cannot take work right now (shutting down, actor restarting): HTTP 503."""


class JobSubmission(msgspec.Struct, frozen=True):
    """A validated off-chain job request (the REST layer parsed and checked its shape)."""

    containers: tuple[str, ...]
    data: msgspec.Raw
    requires_proof: bool = False


class DelegatedSubmission(msgspec.Struct, frozen=True):
    """A validated delegated subscription request (shape only; signature checked later)."""

    subscription: msgspec.Raw
    signature: msgspec.Raw
    data: msgspec.Raw
    requires_proof: bool = False


class StreamTicket(msgspec.Struct, frozen=True):
    """What a stream resource needs to call the first container itself."""

    job_id: str
    container: str


class JobService(Protocol):
    def submit(self, client: str, request: JobSubmission | DelegatedSubmission) -> str | None:
        """Admit and persist a job; return its id (None for a delegated subscription
        when the chain part gives none). Raises JobRejected, Overloaded, Unavailable."""

    def submit_batch(
        self, client: str, requests: Sequence[JobSubmission | DelegatedSubmission]
    ) -> list[str | JobRejected | None]:
        """Each item admitted independently, in order; a rejection is returned, not raised."""

    def stream(self, client: str, request: JobSubmission) -> tuple[str, Iterator[bytes]]:
        """Admit a streaming job; return its id and an iterator of the first container's
        output chunks. The job record is finished when the iterator is exhausted or closed.

        Call the container lazily (on the first ``next()``): the REST layer sends the id
        line as its own chunk first, and the official client takes the first chunk it
        receives as the id."""

    def results(self, client: str, ids: Sequence[str]) -> list[JobRecord]: ...

    def job_ids(self, client: str, pending: bool | None) -> list[str]: ...

    def record_status(
        self, client: str, job_id: str, status: JobStatus, containers: Sequence[str]
    ) -> None: ...

    def health(self) -> bool:
        """True while the actor system is doing its work (GET /health: 200 or 503)."""

    def info(self) -> dict[str, Any]:
        """The body of GET /info."""

    def resources(self, model_id: str | None) -> dict[str, Any]:
        """The body of GET /resources."""

    def container_logs(
        self, container: str, tail: int | None, since: float | None, follow: bool
    ) -> Iterator[bytes]:
        """Log lines of a managed container. Raises KeyError for an unknown container.

        The KeyError must come from this call itself (not from the first ``next()``):
        the REST layer answers 404 before it starts streaming. The iterator's
        ``close()`` is called when the client goes away (``follow`` streams)."""
