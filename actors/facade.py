"""The node as the REST layer sees it: ``JobService`` implemented over the actors.

Writes go to the router as asks with a deadline; reads go straight to the
store (it is safe for concurrent readers), and figures come from the board, so
the hot read paths never queue behind job traffic.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec
import pykka

from actors.board import Board
from actors.directory import ActorUnavailable, Directory
from actors.router import ROUTER
from node import __version__
from node.api.service import (
    DelegatedSubmission,
    JobRejected,
    JobSubmission,
    Unavailable,
)
from node.config.schema import Config
from node.containers.client import ContainerCallError, ContainerClient, ContainerEndpoint
from node.messages import (
    ContainerError,
    ContainerOutput,
    JobRecord,
    JobSpec,
    JobStatus,
    OpenStream,
    RecordStatus,
    Rejected,
    StreamFinished,
    SubmitBatch,
    SubmitJob,
)
from node.store.base import JobStore

log = logging.getLogger(__name__)


class NodeFacade:
    def __init__(
        self,
        *,
        config: Config,
        directory: Directory,
        store: JobStore,
        board: Board,
        client: ContainerClient,
        endpoints: dict[str, ContainerEndpoint],
        manager: Any | None,
        node_address: str = "",
        delegation: Any | None = None,  # actors.delegation_gate.DelegationGate
        alive: Callable[[], bool] = lambda: True,
        ask_timeout: float = 10.0,
    ) -> None:
        self._config = config
        self._directory = directory
        self._store = store
        self._board = board
        self._client = client
        self._endpoints = endpoints
        self._manager = manager
        self._address = node_address
        self._delegation = delegation
        self._alive = alive
        self._timeout = ask_timeout

    # --- writes --------------------------------------------------------------

    def _ask(self, message: Any) -> Any:
        try:
            return self._directory.ask(ROUTER, message, timeout=self._timeout)
        except ActorUnavailable as exc:
            raise Unavailable("the job router is restarting; retry shortly") from exc
        except pykka.Timeout as exc:
            raise Unavailable("the job router did not answer in time") from exc

    def _spec(self, client: str, request: JobSubmission) -> JobSpec:
        return JobSpec(id=str(uuid.uuid4()), client=client, containers=request.containers,
                       data=request.data, requires_proof=request.requires_proof)

    def submit(self, client: str, request: JobSubmission | DelegatedSubmission) -> str | None:
        if isinstance(request, DelegatedSubmission):
            return self._delegated(client, request)
        answer: str = self._ask(SubmitJob(self._spec(client, request)))
        return answer

    def submit_batch(
        self, client: str, requests: Sequence[JobSubmission | DelegatedSubmission]
    ) -> list[str | JobRejected | None]:
        answers: list[str | JobRejected | None] = [None] * len(requests)
        specs: list[tuple[int, JobSpec]] = []
        for i, request in enumerate(requests):
            if isinstance(request, DelegatedSubmission):
                try:
                    answers[i] = self._delegated(client, request)
                except JobRejected as exc:
                    answers[i] = exc
            else:
                specs.append((i, self._spec(client, request)))
        if specs:
            results = self._ask(SubmitBatch(tuple(s for _, s in specs)))
            for (i, _), result in zip(specs, results, strict=True):
                if isinstance(result, Rejected):
                    answers[i] = JobRejected(result.error, msgspec.json.decode(result.params))
                else:
                    answers[i] = result
        return answers

    def _delegated(self, client: str, request: DelegatedSubmission) -> str:
        if not self._config.chain.enabled or self._delegation is None:
            raise JobRejected("Chain not enabled", {})
        job_id: str = self._delegation.submit(client, request)
        return job_id

    def stream(self, client: str, request: JobSubmission) -> tuple[str, Iterator[bytes]]:
        spec = self._spec(client, request)
        job_id: str = self._ask(OpenStream(spec))
        endpoint = self._endpoints[spec.containers[0]]
        return job_id, self._stream_chunks(job_id, endpoint, spec)

    def _stream_chunks(
        self, job_id: str, endpoint: ContainerEndpoint, spec: JobSpec
    ) -> Iterator[bytes]:
        return _StreamRelay(job_id, endpoint, spec.data, self._client, self._directory)

    def record_status(
        self, client: str, job_id: str, status: JobStatus, containers: Sequence[str]
    ) -> None:
        self._ask(RecordStatus(client=client, job_id=job_id, status=status,
                               containers=tuple(containers)))

    # --- reads ------------------------------------------------------------------

    def results(self, client: str, ids: Sequence[str]) -> list[JobRecord]:
        return self._store.get_many(client, ids)

    def job_ids(self, client: str, pending: bool | None) -> list[str]:
        return self._store.list_ids(client, pending)

    def health(self) -> bool:
        if self._board.escalated or not self._alive():
            return False
        try:
            self._directory.get(ROUTER)
        except ActorUnavailable:
            return False
        return True

    def info(self) -> dict[str, Any]:
        states = self._board.container_states()
        managed = self._manager is not None
        containers = [
            {"id": c.id, "description": c.description, "external": c.external, "image": c.image}
            for c in self._config.containers
            if not managed or states.get(c.id) == "ready"
        ]
        return {
            "version": __version__,
            "containers": containers,
            "pending": {"offchain": self._board.jobs_running,
                        "onchain": self._board.onchain_running},
            "chain": {"enabled": self._config.chain.enabled, "address": self._address},
        }

    def resources(self, model_id: str | None) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for name, endpoint in self._endpoints.items():
            body = self._client.resources(endpoint, model_id)
            if body is not None:
                answers[name] = body
        return answers

    def container_logs(
        self, container: str, tail: int | None, since: float | None, follow: bool
    ) -> Iterator[bytes]:
        if self._manager is None or self._config.container(container) is None:
            raise KeyError(container)
        logs: Iterator[bytes] = self._manager.logs(container, tail=tail, since=since,
                                                   follow=follow)
        return logs


class _StreamRelay:
    """Relays a container's stream and reports how it ended exactly once.

    A class rather than a generator: the WSGI server closes the iterator when the
    client hangs up, possibly before the first ``next()``, and a generator that
    never started would skip its ``finally`` and leave the job running.
    """

    def __init__(self, job_id: str, endpoint: ContainerEndpoint, data: msgspec.Raw,
                 client: ContainerClient, directory: Directory) -> None:
        self._job_id = job_id
        self._container = endpoint.container
        self._directory = directory
        self._chunks: Iterator[bytes] | None = None
        self._opener: Callable[[], Iterator[bytes]] = lambda: client.stream(endpoint, data)
        self._received: list[bytes] = []
        self._done = False

    def __iter__(self) -> _StreamRelay:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        try:
            if self._chunks is None:
                self._chunks = iter(self._opener())
            chunk = next(self._chunks)
        except StopIteration:
            self._finish_from_output()
            raise
        except ContainerCallError as exc:
            self._report(ContainerError(container=self._container, error=str(exc)))
            raise StopIteration from exc
        self._received.append(chunk)
        return chunk

    def close(self) -> None:
        closer = getattr(self._chunks, "close", None)
        if callable(closer):
            closer()
        self._report(ContainerError(container=self._container,
                                    error="the client disconnected before the stream ended"))

    def _finish_from_output(self) -> None:
        try:
            text = b"".join(self._received).decode("utf-8")
        except UnicodeDecodeError:
            self._report(ContainerError(container=self._container,
                                        error="stream output is not UTF-8"))
            return
        self._report(ContainerOutput(
            container=self._container,
            output=msgspec.Raw(msgspec.json.encode({"output": text}))))

    def _report(self, result: ContainerOutput | ContainerError) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._directory.tell(ROUTER, StreamFinished(job_id=self._job_id, result=result))
        except ActorUnavailable:
            log.warning("router unavailable; stream result not recorded",
                        extra={"job_id": self._job_id})

