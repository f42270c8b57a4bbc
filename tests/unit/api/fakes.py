"""An in-memory JobService for REST tests: records every call, behaviour set per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.api.service import DelegatedSubmission, JobRejected, JobSubmission
from node.messages import JobRecord, JobStatus


@dataclass
class FakeJobService:
    healthy: bool = True
    # Raised by submit/stream/submit_batch when set (JobRejected, Overloaded, ...).
    submit_error: Exception | None = None
    # Containers the "guardian" rejects, per item, in submit_batch.
    rejected_containers: set[str] = field(default_factory=set)
    delegated_id: str | None = None
    records: dict[tuple[str, str], JobRecord] = field(default_factory=dict)
    stream_chunks: list[bytes] = field(default_factory=lambda: [b"out-1", b"out-2"])
    logs: dict[str, list[bytes]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    closed_streams: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _new_id(self) -> str:
        return f"job-{next(self._ids)}"

    def _admit(self, client: str, request: JobSubmission | DelegatedSubmission) -> str | None:
        if isinstance(request, DelegatedSubmission):
            return self.delegated_id
        for container in request.containers:
            if container in self.rejected_containers:
                raise JobRejected("Container not supported", {"container": container})
        job_id = self._new_id()
        self.records[(client, job_id)] = JobRecord(
            id=job_id, client=client, containers=request.containers, status="running"
        )
        return job_id

    def submit(self, client: str, request: JobSubmission | DelegatedSubmission) -> str | None:
        self.calls.append(("submit", (client, request)))
        if self.submit_error is not None:
            raise self.submit_error
        return self._admit(client, request)

    def submit_batch(
        self, client: str, requests: Sequence[JobSubmission | DelegatedSubmission]
    ) -> list[str | JobRejected | None]:
        self.calls.append(("submit_batch", (client, list(requests))))
        if self.submit_error is not None:
            raise self.submit_error
        out: list[str | JobRejected | None] = []
        for r in requests:
            try:
                out.append(self._admit(client, r))
            except JobRejected as e:
                out.append(e)
        return out

    def stream(self, client: str, request: JobSubmission) -> tuple[str, Iterator[bytes]]:
        self.calls.append(("stream", (client, request)))
        if self.submit_error is not None:
            raise self.submit_error
        job_id = self._admit(client, request)
        assert job_id is not None

        def chunks() -> Iterator[bytes]:
            try:
                yield from self.stream_chunks
            finally:
                self.closed_streams.append(job_id)

        return job_id, chunks()

    def results(self, client: str, ids: Sequence[str]) -> list[JobRecord]:
        self.calls.append(("results", (client, list(ids))))
        return [self.records[(client, i)] for i in ids if (client, i) in self.records]

    def job_ids(self, client: str, pending: bool | None) -> list[str]:
        self.calls.append(("job_ids", (client, pending)))
        return [
            r.id
            for (c, _), r in self.records.items()
            if c == client and (pending is None or (r.status == "running") == pending)
        ]

    def record_status(
        self, client: str, job_id: str, status: JobStatus, containers: Sequence[str]
    ) -> None:
        self.calls.append(("record_status", (client, job_id, status, list(containers))))
        self.records[(client, job_id)] = JobRecord(
            id=job_id,
            client=client,
            containers=tuple(containers),
            status=status,
            runnable=False,
        )

    def health(self) -> bool:
        return self.healthy

    def info(self) -> dict[str, Any]:
        return {
            "version": "1.4.0",
            "containers": [],
            "pending": {"offchain": 0, "onchain": 0},
            "chain": {"enabled": False, "address": ""},
        }

    def resources(self, model_id: str | None) -> dict[str, Any]:
        self.calls.append(("resources", model_id))
        return {"echo": {"model_id": model_id}}

    def container_logs(
        self, container: str, tail: int | None, since: float | None, follow: bool
    ) -> Iterator[bytes]:
        self.calls.append(("container_logs", (container, tail, since, follow)))
        if container not in self.logs:
            raise KeyError(container)
        return iter(self.logs[container])
