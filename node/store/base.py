"""What every job store offers; the router and the REST layer depend on this only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from node.messages import JobRecord


class StoreError(Exception):
    """The backing store failed (I/O, connection); the caller decides what to do."""


class JobStore(Protocol):
    def put(self, record: JobRecord) -> None:
        """Insert or replace the record keyed by (client, id). Durable on return."""

    def put_many(self, records: Sequence[JobRecord]) -> None:
        """Like put, for several records in one transaction."""

    def get(self, client: str, job_id: str) -> JobRecord | None: ...

    def get_many(self, client: str, ids: Sequence[str]) -> list[JobRecord]:
        """Records of this client among ``ids``; unknown ids are left out.

        Finished records first, then running ones (the original's order)."""

    def list_ids(self, client: str, pending: bool | None = None) -> list[str]:
        """Ids of this client's jobs: running only (True), finished only (False) or all."""

    def runnable_pending(self) -> list[JobRecord]:
        """Every running record with ``runnable`` set, oldest first (restart recovery)."""

    def count_running(self) -> int: ...

    def purge_expired(self, now: float) -> int:
        """Drop finished records older than the finished TTL and hand-written running
        records older than the running TTL; return how many were dropped."""

    def close(self) -> None: ...
