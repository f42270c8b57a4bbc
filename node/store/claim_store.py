"""Per-(subscription, interval) claims: the chain scheduler's durable memory.

A claim is the idempotency key of on-chain work: at most one job and one
delivery per key, across crashes and restarts. Its states:

    claimed     a job was handed to the router
    delivering  the result was handed to the wallet (key = the wallet's tx key)
    retry       waiting until ``retry_at`` (local UNIX time) to try again
    delivered   mined successfully                         (final)
    skipped     nothing to do: answered already, interval completed, not ours (final)
    failed      gave up after bounded retries, with the reason (final)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from node.store.chain_db import ChainDb

ClaimState = Literal["claimed", "delivering", "retry", "delivered", "skipped", "failed"]
FINAL_STATES: frozenset[str] = frozenset({"delivered", "skipped", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interval_claims (
    key TEXT PRIMARY KEY,
    sub_key TEXT NOT NULL,
    interval INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    job_id TEXT,
    reason TEXT,
    retry_at REAL,
    payload BLOB,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS interval_claims_open ON interval_claims(state)
    WHERE state NOT IN ('delivered', 'skipped', 'failed');
"""


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    sub_key: str
    interval: int
    state: ClaimState
    attempts: int = 0
    job_id: str | None = None
    reason: str | None = None
    retry_at: float | None = None
    payload: bytes | None = None  # what a delegated claim needs to resume after a restart

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def claim_key(sub_key: str, interval: int) -> str:
    return f"{sub_key}:{interval}"


class ClaimStore:
    def __init__(self, db: ChainDb, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        with db.reading() as conn:
            conn.executescript(_SCHEMA)

    def get(self, key: str) -> Claim | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT key, sub_key, interval, state, attempts, job_id, reason, retry_at, "
                "payload FROM interval_claims WHERE key = ?", (key,)).fetchone()
        return None if row is None else _claim(row)

    def put(self, claim: Claim) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO interval_claims (key, sub_key, interval, state, attempts, job_id, "
                "reason, retry_at, payload, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET state = excluded.state, "
                "attempts = excluded.attempts, job_id = excluded.job_id, "
                "reason = excluded.reason, retry_at = excluded.retry_at, "
                "payload = COALESCE(excluded.payload, interval_claims.payload), "
                "updated = excluded.updated",
                (claim.key, claim.sub_key, claim.interval, claim.state, claim.attempts,
                 claim.job_id, claim.reason, claim.retry_at, claim.payload, self._clock()))

    def open_claims(self) -> list[Claim]:
        """Every claim not in a final state (what a restarted scheduler picks up)."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT key, sub_key, interval, state, attempts, job_id, reason, retry_at, "
                "payload FROM interval_claims "
                "WHERE state NOT IN ('delivered', 'skipped', 'failed') ORDER BY updated").fetchall()
        return [_claim(row) for row in rows]

    def final_keys(self, sub_key: str) -> set[int]:
        """Intervals of a subscription that are settled."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT interval FROM interval_claims WHERE sub_key = ? "
                "AND state IN ('delivered', 'skipped', 'failed')", (sub_key,)).fetchall()
        return {int(r[0]) for r in rows}


def _claim(row: Any) -> Claim:
    key, sub_key, interval, state, attempts, job_id, reason, retry_at, payload = row
    return Claim(key=str(key), sub_key=str(sub_key), interval=int(str(interval)),
                 state=state,  # type: ignore[arg-type]
                 attempts=int(str(attempts)),
                 job_id=None if job_id is None else str(job_id),
                 reason=None if reason is None else str(reason),
                 retry_at=None if retry_at is None else float(str(retry_at)),
                 payload=None if payload is None else bytes(payload))
