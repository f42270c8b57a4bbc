"""The wallet's transactions and their signed attempts, in the shared chain database.

One row per idempotency key (``wallet_tx``) and one per signed attempt
(``wallet_attempt``). An attempt is written before its bytes go to the RPC, so
after a crash the same bytes (same hash) are sent again rather than signed anew.
Rows belong to one sender address: a node that changes its key does not replay
another key's transactions.

Decided transactions are pruned (``prune``) once they were decided longer ago than
the retention and their outcome reached the requester, unless the requester says
it may still ask for the key again: the stored outcome is what answers a repeated
key without a second send. In-flight and unnotified rows are never pruned.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import msgspec

from node.chain.tx import (
    FINAL_STATES,
    IN_FLIGHT_STATES,
    Attempt,
    Fees,
    TxRecord,
    TxRequest,
    TxState,
    check_transition,
)
from node.store.chain_db import ChainDb

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS wallet_tx (
        sender TEXT NOT NULL,
        key TEXT NOT NULL,
        to_addr TEXT NOT NULL,
        data BLOB NOT NULL,
        value TEXT NOT NULL,
        simulate INTEGER NOT NULL,
        gas_limit INTEGER,
        reply_to TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        nonce INTEGER,
        gas INTEGER,
        tx_hash TEXT,
        block_number INTEGER,
        gas_used INTEGER,
        error TEXT,
        revert_name TEXT,
        revert_class TEXT,
        notified INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (sender, key))""",
    "CREATE INDEX IF NOT EXISTS wallet_tx_state ON wallet_tx (sender, state, nonce)",
    "CREATE INDEX IF NOT EXISTS wallet_tx_updated ON wallet_tx (sender, updated_at)",
    """CREATE TABLE IF NOT EXISTS wallet_attempt (
        tx_hash TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        key TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        raw BLOB NOT NULL,
        max_fee TEXT NOT NULL,
        priority_fee TEXT,
        gas INTEGER NOT NULL,
        created_at REAL NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS wallet_attempt_key ON wallet_attempt (sender, key, created_at)",
)

_TX_COLUMNS = ("key, to_addr, data, value, simulate, gas_limit, reply_to, state, created_at, "
               "updated_at, nonce, gas, tx_hash, block_number, gas_used, error, revert_name, "
               "revert_class, notified")
_ATTEMPT_COLUMNS = "key, nonce, tx_hash, raw, max_fee, priority_fee, gas, created_at, sent"
_IN_FLIGHT = ",".join(f"'{s}'" for s in IN_FLIGHT_STATES)
_FINAL = ",".join(f"'{s}'" for s in FINAL_STATES)


class UnknownTransaction(KeyError):
    pass


class Pruned(msgspec.Struct, frozen=True):
    transactions: int
    attempts: int
    kept: int  # old enough, but still in use by their requester


def _tx(row: Any) -> TxRecord:
    (key, to, data, value, simulate, gas_limit, reply_to, state, created, updated, nonce, gas,
     tx_hash, block, gas_used, error, revert_name, revert_class, notified) = row
    request = TxRequest(to=str(to), data=bytes(data), value=int(str(value)),
                        simulate=bool(simulate), gas_limit=gas_limit)
    return TxRecord(
        key=str(key), request=request,
        reply_to=str(reply_to), state=state, created_at=float(created),
        updated_at=float(updated), nonce=nonce, gas=gas,
        tx_hash=tx_hash, block_number=block, gas_used=gas_used, error=error,
        revert_name=revert_name, revert_class=revert_class,
        notified=bool(notified),
    )


def _attempt(row: Any) -> Attempt:
    key, nonce, tx_hash, raw, max_fee, priority, gas, created, sent = row
    fees = Fees(max_fee=int(str(max_fee)),
                priority_fee=None if priority is None else int(str(priority)))
    return Attempt(key=str(key), nonce=int(nonce), tx_hash=str(tx_hash),
                   raw=bytes(raw), fees=fees, gas=int(gas),
                   created_at=float(created), sent=bool(sent))


class TxStore:
    def __init__(self, db: ChainDb, sender: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._sender = sender.lower()
        self._clock = clock
        with db.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    # --- writes ---------------------------------------------------------------

    def open(self, key: str, request: TxRequest, reply_to: str) -> TxRecord:
        """Creates the transaction in state ``queued``, or restarts one whose earlier
        run left nothing on chain (simulation_failed / failed). Returns the row as it
        is now; the caller checks its state (an in-flight or on-chain row is
        returned untouched)."""
        now = self._clock()
        with self._db.transaction() as conn:
            existing = self._get(conn, key)
            if existing is None:
                conn.execute(
                    "INSERT INTO wallet_tx (sender, key, to_addr, data, value, simulate,"
                    " gas_limit, reply_to, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                    (self._sender, key, request.to, request.data, str(request.value),
                     int(request.simulate), request.gas_limit, reply_to, now, now))
            elif existing.state in ("simulation_failed", "failed"):
                check_transition(existing.state, "queued")
                conn.execute(
                    "UPDATE wallet_tx SET to_addr=?, data=?, value=?, simulate=?, gas_limit=?,"
                    " reply_to=?, state='queued', updated_at=?, nonce=NULL, gas=NULL, tx_hash=NULL,"
                    " block_number=NULL, gas_used=NULL, error=NULL, revert_name=NULL,"
                    " revert_class=NULL, notified=0 WHERE sender=? AND key=?",
                    (request.to, request.data, str(request.value), int(request.simulate),
                     request.gas_limit, reply_to, now, self._sender, key))
            else:
                return existing
            record = self._get(conn, key)
        assert record is not None
        return record

    def save_attempt(self, attempt: Attempt) -> None:
        """Persists a signed attempt (before it is sent) and moves the transaction to
        ``signed`` with the attempt's nonce and gas."""
        with self._db.transaction() as conn:
            self._move(conn, attempt.key, "signed")
            conn.execute(
                f"INSERT INTO wallet_attempt (sender, {_ATTEMPT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (self._sender, attempt.key, attempt.nonce, attempt.tx_hash, attempt.raw,
                 str(attempt.fees.max_fee),
                 None if attempt.fees.priority_fee is None else str(attempt.fees.priority_fee),
                 attempt.gas, attempt.created_at))
            conn.execute(
                "UPDATE wallet_tx SET nonce=?, gas=?, tx_hash=? WHERE sender=? AND key=?",
                (attempt.nonce, attempt.gas, attempt.tx_hash, self._sender, attempt.key))

    def mark_sent(self, key: str, tx_hash: str) -> None:
        with self._db.transaction() as conn:
            self._move(conn, key, "sent")
            conn.execute("UPDATE wallet_attempt SET sent=1 WHERE sender=? AND tx_hash=?",
                         (self._sender, tx_hash))

    def finish(self, key: str, state: TxState, *, tx_hash: str | None = None,
               block_number: int | None = None, gas_used: int | None = None,
               error: str | None = None, revert_name: str | None = None,
               revert_class: str | None = None) -> TxRecord:
        """Records the final outcome (state must be final)."""
        if state not in FINAL_STATES:
            raise ValueError(f"{state!r} is not a final state")
        with self._db.transaction() as conn:
            self._move(conn, key, state)
            conn.execute(
                "UPDATE wallet_tx SET tx_hash=COALESCE(?, tx_hash), block_number=?,"
                " gas_used=?, error=?, revert_name=?, revert_class=?, notified=0"
                " WHERE sender=? AND key=?",
                (tx_hash, block_number, gas_used, error, revert_name, revert_class,
                 self._sender, key))
            record = self._get(conn, key)
        assert record is not None
        return record

    def mark_notified(self, key: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE wallet_tx SET notified=1 WHERE sender=? AND key=?",
                         (self._sender, key))

    def set_reply_to(self, key: str, reply_to: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE wallet_tx SET reply_to=? WHERE sender=? AND key=?",
                         (reply_to, self._sender, key))

    def prune(self, *, retention: float, limit: int,
              in_use: Callable[[Sequence[str]], Collection[str]] | None = None) -> Pruned:
        """Deletes up to ``limit`` decided and notified transactions (with their attempts)
        decided more than ``retention`` seconds ago, oldest first, except the keys
        ``in_use`` returns (asked within the same database transaction)."""
        before = self._clock() - retention
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT rowid, key FROM wallet_tx WHERE sender=? AND updated_at < ?"
                f" AND notified=1 AND state IN ({_FINAL}) ORDER BY updated_at LIMIT ?",
                (self._sender, before, limit)).fetchall()
            keep = set(in_use([str(r[1]) for r in rows])) if in_use is not None and rows \
                else set()
            doomed = [(int(rowid), str(key)) for rowid, key in rows if key not in keep]
            attempts = conn.executemany(
                "DELETE FROM wallet_attempt WHERE sender=? AND key=?",
                [(self._sender, key) for _, key in doomed]).rowcount
            conn.executemany("DELETE FROM wallet_tx WHERE rowid=?",
                             [(rowid,) for rowid, _ in doomed])
        return Pruned(transactions=len(doomed), attempts=max(attempts, 0),
                      kept=len(rows) - len(doomed))

    # --- reads ----------------------------------------------------------------

    def get(self, key: str) -> TxRecord | None:
        with self._db.reading() as conn:
            return self._get(conn, key)

    def in_flight(self) -> list[TxRecord]:
        """Transactions not yet decided, by nonce (unsigned ones last)."""
        return self._select(f"state IN ({_IN_FLIGHT}) ORDER BY nonce IS NULL, nonce, created_at")

    def by_nonce(self, nonce: int) -> list[TxRecord]:
        return self._select("nonce=? ORDER BY created_at", nonce)

    def attempts(self, key: str) -> list[Attempt]:
        """Every attempt of ``key``, oldest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT {_ATTEMPT_COLUMNS} FROM wallet_attempt WHERE sender=? AND key=?"
                " ORDER BY created_at, rowid", (self._sender, key)).fetchall()
        return [_attempt(r) for r in rows]

    def highest_nonce(self) -> int | None:
        """The highest nonce any attempt ever used (sent or not)."""
        with self._db.reading() as conn:
            row = conn.execute("SELECT MAX(nonce) FROM wallet_attempt WHERE sender=?",
                               (self._sender,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def unnotified(self) -> list[TxRecord]:
        """Decided transactions whose outcome may not have reached the requester."""
        return self._select(f"notified=0 AND state IN ({_FINAL}) ORDER BY updated_at")

    def recent_outcomes(self, limit: int = 100) -> list[TxRecord]:
        """The most recently decided transactions, newest first."""
        return self._select(f"state IN ({_FINAL}) ORDER BY updated_at DESC LIMIT ?", limit)

    # --- helpers --------------------------------------------------------------

    def _select(self, condition: str, *params: object) -> list[TxRecord]:
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT {_TX_COLUMNS} FROM wallet_tx WHERE sender=? AND {condition}",
                (self._sender, *params)).fetchall()
        return [_tx(r) for r in rows]

    def _get(self, conn: sqlite3.Connection, key: str) -> TxRecord | None:
        row = conn.execute(f"SELECT {_TX_COLUMNS} FROM wallet_tx WHERE sender=? AND key=?",
                           (self._sender, key)).fetchone()
        return None if row is None else _tx(row)

    def _move(self, conn: sqlite3.Connection, key: str, state: TxState) -> None:
        current = self._get(conn, key)
        if current is None:
            raise UnknownTransaction(key)
        check_transition(current.state, state)
        conn.execute("UPDATE wallet_tx SET state=?, updated_at=? WHERE sender=? AND key=?",
                     (state, self._clock(), self._sender, key))
