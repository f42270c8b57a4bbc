"""Per-(subscription, interval) claims: the chain scheduler's durable memory.

A claim is the idempotency key of on-chain work: at most one job and one
delivery per key, across crashes and restarts. Its states:

    claimed     a job was handed to the router
    delivering  the result was handed to the wallet (key = the wallet's tx key)
    retry       waiting until ``retry_at`` (local UNIX time) to try again
    delivered   mined successfully                         (final)
    skipped     nothing to do: answered already, interval completed, not ours (final)
    failed      gave up after bounded retries, with the reason (final)

Pruning. A final claim is what keeps its interval from running again, so it may
only go once nothing can look it up again. The scheduler looks a claim up only
for the interval a subscription is at *now* (chain time, which only moves
forward), when it (re)tracks a subscription — and the poller re-tells every
subscription it still tracks after each restart (all but the done ones), so "no
longer tracked" by the scheduler alone proves nothing. ``closes_at`` (chain time)
is when the claim's interval stops being reachable, set by the scheduler:

* periodic subscription: the end of the interval (``Subscription.interval_end``);
  from then on its current interval is a later one;
* delegated subscription: the signature's expiry (the gate refuses expired
  ones), or the interval's end if earlier;
* cancelled subscription: the chain time the cancellation was seen
  (``close_subscription``); a cancelled subscription is never tracked again;
* complete subscription (the scheduler will never act on it again: its last
  interval's claim is final, or chain time is past its last interval; the rule is
  in ``actors.chain_scheduler``): the chain time it completed
  (``close_subscription``). The poller stops replaying it at the same time, so a
  restarted node does not track it again;
* callback subscription (period 0) still incomplete: never. Its one interval is the
  current one for as long as it is tracked.

``prune`` deletes a claim iff it is final, it was settled (``updated``, local
time) more than the retention ago, and ``closes_at`` is at least the retention
behind the chain time given: a margin against reorgs and clock skew on top of
the rule. Open claims are never deleted. A settled claim keeps no payload (only
its resumption needed it), so the claims that must stay are small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from node.store.chain_db import ChainDb

ClaimState = Literal["claimed", "delivering", "retry", "delivered", "skipped", "failed"]
FINAL_STATES: frozenset[str] = frozenset({"delivered", "skipped", "failed"})
_FINAL = "('delivered', 'skipped', 'failed')"

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
    updated REAL NOT NULL,
    closes_at INTEGER
);
CREATE INDEX IF NOT EXISTS interval_claims_open ON interval_claims(state)
    WHERE state NOT IN ('delivered', 'skipped', 'failed');
"""
# After the column exists (tables from before pruning get it added first).
_CLOSES_INDEX = ("CREATE INDEX IF NOT EXISTS interval_claims_closes ON interval_claims(closes_at)"
                 " WHERE closes_at IS NOT NULL")
_COLUMNS = "key, sub_key, interval, state, attempts, job_id, reason, retry_at, payload, closes_at"


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
    closes_at: int | None = None  # chain time from which nothing looks this claim up

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def claim_key(sub_key: str, interval: int) -> str:
    return f"{sub_key}:{interval}"


class ClaimStore:
    def __init__(self, db: ChainDb, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        with db.transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(interval_claims)")}
            if "closes_at" not in columns:
                conn.execute("ALTER TABLE interval_claims ADD COLUMN closes_at INTEGER")
            conn.execute(_CLOSES_INDEX)

    def get(self, key: str) -> Claim | None:
        with self._db.reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM interval_claims WHERE key = ?",
                               (key,)).fetchone()
        return None if row is None else _claim(row)

    def put(self, claim: Claim) -> None:
        """Writes the claim; a final one drops its payload, and ``closes_at`` only ever
        moves earlier (a cancellation seen before the claim settled stays)."""
        payload = None if claim.final else claim.payload
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO interval_claims ({_COLUMNS}, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET state = excluded.state,"
                " attempts = excluded.attempts, job_id = excluded.job_id,"
                " reason = excluded.reason, retry_at = excluded.retry_at,"
                " payload = CASE WHEN excluded.state IN " + _FINAL + " THEN NULL"
                " ELSE COALESCE(excluded.payload, interval_claims.payload) END,"
                " closes_at = CASE WHEN interval_claims.closes_at IS NULL THEN excluded.closes_at"
                " WHEN excluded.closes_at IS NULL THEN interval_claims.closes_at"
                " ELSE MIN(excluded.closes_at, interval_claims.closes_at) END,"
                " updated = excluded.updated",
                (claim.key, claim.sub_key, claim.interval, claim.state, claim.attempts,
                 claim.job_id, claim.reason, claim.retry_at, payload, claim.closes_at,
                 self._clock()))

    def open_claims(self) -> list[Claim]:
        """Every claim not in a final state (what a restarted scheduler picks up)."""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM interval_claims"
                f" WHERE state NOT IN {_FINAL} ORDER BY updated").fetchall()
        return [_claim(row) for row in rows]

    def open_keys(self) -> set[str]:
        """Keys of the claims not in a final state."""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT key FROM interval_claims WHERE state NOT IN {_FINAL}").fetchall()
        return {str(r[0]) for r in rows}

    def final_keys(self, sub_key: str) -> set[int]:
        """Intervals of a subscription that are settled (and not pruned yet)."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT interval FROM interval_claims WHERE sub_key = ? "
                f"AND state IN {_FINAL}", (sub_key,)).fetchall()
        return {int(r[0]) for r in rows}

    def close_subscription(self, sub_key: str, at: int) -> int:
        """Every claim of ``sub_key`` is unreachable from chain time ``at`` on (it was
        cancelled, or completed). Returns how many claims that moved."""
        with self._db.transaction() as conn:
            # The key range uses the primary key; sub_key = ? keeps it exact.
            cursor = conn.execute(
                "UPDATE interval_claims SET closes_at = ? WHERE key > ? AND key < ?"
                " AND sub_key = ? AND (closes_at IS NULL OR closes_at > ?)",
                (at, f"{sub_key}:", f"{sub_key};", sub_key, at))
            return cursor.rowcount

    def prune(self, *, chain_time: int, retention: float, limit: int) -> int:
        """Deletes up to ``limit`` claims that can no longer be looked up (the rule is in
        the module docstring). Returns how many went."""
        settled_before = self._clock() - retention
        closed_by = int(chain_time - retention)
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM interval_claims WHERE rowid IN (SELECT rowid FROM interval_claims"
                f" WHERE closes_at IS NOT NULL AND closes_at <= ? AND state IN {_FINAL}"
                " AND updated < ? LIMIT ?)", (closed_by, settled_before, limit))
            return cursor.rowcount


def _claim(row: Any) -> Claim:
    key, sub_key, interval, state, attempts, job_id, reason, retry_at, payload, closes = row
    return Claim(key=str(key), sub_key=str(sub_key), interval=int(str(interval)),
                 state=state,  # type: ignore[arg-type]
                 attempts=int(str(attempts)),
                 job_id=None if job_id is None else str(job_id),
                 reason=None if reason is None else str(reason),
                 retry_at=None if retry_at is None else float(str(retry_at)),
                 payload=None if payload is None else bytes(payload),
                 closes_at=None if closes is None else int(str(closes)))
