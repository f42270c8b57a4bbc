"""The subscription poller's durable state, in the shared ChainDb file.

Three tables, all written idempotently (INSERT OR REPLACE), so replaying a block
after a crash or a reorg never duplicates anything:

* ``poller_state``: one row — the cursor (last processed block, its hash and
  timestamp, highest synced id) and the progress of an unfinished startup sync;
* ``poller_blocks``: hashes of the recently processed blocks (the window the
  poller walks back through to find the common ancestor after a reorg);
* ``poller_subscriptions``: every synced subscription with the block it was last
  read at, replayed to the consumer after a restart.

Done subscriptions. A subscription that can never be due again is kept as a
*done* row: one cancelled; one the consumer says is complete (``mark_done``); and,
whoever it is for, one the chain itself has finished with, as far as this store
can tell with no reads of its own: a recurring subscription once a processed
block's time is past its last interval (``ends_at``), a callback once as many
``SubscriptionFulfilled`` logs for it were processed as its redundancy (``left``
counts down; logs from before the row was read are not counted, so the count can
only be short, never over). A done row has
``block`` the block it was marked at: it is neither replayed nor counted. It is
deleted once that block falls out of the stored block window (``advance``), i.e.
once no rewind can reach back before it; until then a rewind to an earlier block
re-reads it like any row changed after the fork point, which makes it live again
(the consumer decides afresh on what the new chain says). A reorg deeper than the
window resets the store and re-syncs everything anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

import msgspec

from node.chain.subscription import CANCELLED_ACTIVE_AT, Subscription
from node.store.chain_db import ChainDb

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS poller_state (
        k INTEGER PRIMARY KEY CHECK (k = 0),
        cursor_block INTEGER, cursor_hash TEXT, cursor_time INTEGER,
        highest_id INTEGER NOT NULL DEFAULT 0,
        snapshot_block INTEGER, snapshot_hash TEXT, snapshot_time INTEGER,
        snapshot_next INTEGER)""",
    """CREATE TABLE IF NOT EXISTS poller_blocks (
        number INTEGER PRIMARY KEY, hash TEXT NOT NULL, time INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS poller_subscriptions (
        id INTEGER PRIMARY KEY, body BLOB NOT NULL, block INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0, ends_at INTEGER, left INTEGER)""",
)
# After the columns exist (tables from before done rows get them added first).
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS poller_subscriptions_done"
    " ON poller_subscriptions(block) WHERE done = 1",
    "CREATE INDEX IF NOT EXISTS poller_subscriptions_ends"
    " ON poller_subscriptions(ends_at) WHERE done = 0 AND ends_at IS NOT NULL",
)
_FOREVER = 2**62  # ends_at beyond any chain time (uint32 products overflow SQLite integers)

# JSON, not msgpack: payment amounts are uint256 and do not fit msgpack integers.
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Subscription)


class BlockRef(msgspec.Struct, frozen=True):
    number: int
    hash: str
    time: int


class SnapshotProgress(msgspec.Struct, frozen=True):
    """An unfinished startup sync: read at ``at``, next id to read ``next_id``."""

    at: BlockRef
    next_id: int


class SyncState(msgspec.Struct, frozen=True):
    cursor: BlockRef | None  # None until the startup sync has finished
    highest_id: int
    snapshot: SnapshotProgress | None


class SyncStore:
    def __init__(self, db: ChainDb) -> None:
        self._db = db
        with db.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(poller_subscriptions)")}
            if "done" not in columns:
                _add_done_columns(conn)
            for statement in _INDEXES:
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO poller_state (k) VALUES (0)")

    # --- reading ----------------------------------------------------------------

    def state(self) -> SyncState:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT cursor_block, cursor_hash, cursor_time, highest_id, snapshot_block,"
                " snapshot_hash, snapshot_time, snapshot_next FROM poller_state").fetchone()
        cursor = None if row[0] is None else BlockRef(row[0], row[1], row[2])
        snapshot = None
        if row[4] is not None:
            snapshot = SnapshotProgress(BlockRef(row[4], row[5], row[6]), row[7])
        return SyncState(cursor=cursor, highest_id=row[3], snapshot=snapshot)

    def block_hash(self, number: int) -> str | None:
        with self._db.reading() as conn:
            row = conn.execute("SELECT hash FROM poller_blocks WHERE number = ?",
                               (number,)).fetchone()
        return None if row is None else str(row[0])

    def window(self) -> list[BlockRef]:
        """Stored block hashes, newest first."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT number, hash, time FROM poller_blocks ORDER BY number DESC").fetchall()
        return [BlockRef(*row) for row in rows]

    def count(self) -> int:
        """Subscriptions still tracked (done rows are not)."""
        with self._db.reading() as conn:
            return int(conn.execute(
                "SELECT COUNT(*) FROM poller_subscriptions WHERE done = 0").fetchone()[0])

    def subscriptions(self, batch_size: int) -> Iterator[list[Subscription]]:
        """Every stored subscription not done, in id order, ``batch_size`` at a time."""
        after = 0
        while True:
            with self._db.reading() as conn:
                rows = conn.execute(
                    "SELECT id, body FROM poller_subscriptions WHERE id > ? AND done = 0"
                    " ORDER BY id LIMIT ?",
                    (after, batch_size)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield [_decoder.decode(body) for _, body in rows]

    def seen_after(self, block: int) -> list[int]:
        """Ids last read, counted a fulfilment or marked done at a block after ``block``:
        what a rewind to it invalidates, done rows included (re-reading one makes it
        live again, with its count from the chain afresh)."""
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT id FROM poller_subscriptions WHERE block > ? ORDER BY id",
                (block,)).fetchall()
        return [row[0] for row in rows]

    # --- writing ----------------------------------------------------------------

    def begin_snapshot(self, at: BlockRef, next_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE poller_state SET snapshot_block = ?, snapshot_hash = ?,"
                " snapshot_time = ?, snapshot_next = ?",
                (at.number, at.hash, at.time, next_id))

    def save_snapshot_batch(self, subscriptions: Iterable[Subscription], block: int,
                            next_id: int) -> None:
        with self._db.transaction() as conn:
            _upsert(conn, subscriptions, block)
            conn.execute("UPDATE poller_state SET snapshot_next = ?", (next_id,))

    def finish_snapshot(self, at: BlockRef, highest_id: int) -> None:
        """The sync is complete: the cursor starts at the block it was read at."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE poller_state SET cursor_block = ?, cursor_hash = ?, cursor_time = ?,"
                " highest_id = ?, snapshot_block = NULL, snapshot_hash = NULL,"
                " snapshot_time = NULL, snapshot_next = NULL",
                (at.number, at.hash, at.time, highest_id))
            conn.execute("INSERT OR REPLACE INTO poller_blocks VALUES (?, ?, ?)",
                         (at.number, at.hash, at.time))

    def advance(self, at: BlockRef, highest_id: int, *, seen: Iterable[Subscription] = (),
                cancelled: Iterable[int] = (), fulfilled: Iterable[tuple[int, int]] = (),
                keep_blocks: int = 64) -> None:
        """One processed block (or range ending at ``at``), atomically: the
        subscriptions read, cancellations, fulfilments (``(id, block)``, one per log),
        the block's hash, the cursor. Cancelled subscriptions, callbacks whose
        redundancy the fulfilments used up and recurring ones past their last
        interval at ``at``'s time are done from then on. Block hashes older than
        ``keep_blocks`` behind ``at`` are pruned, and with them the done rows marked
        at those blocks."""
        with self._db.transaction() as conn:
            _upsert(conn, seen, at.number)
            for sub_id in cancelled:
                _mark_cancelled(conn, sub_id, at.number)
            # Only callbacks count down; the row's block moves to the log's, so a rewind
            # before the log re-reads the row (its count starts again from the chain).
            conn.executemany(
                "UPDATE poller_subscriptions SET left = left - 1, done = (left <= 1),"
                " block = MAX(block, ?) WHERE id = ? AND done = 0 AND left IS NOT NULL",
                [(block, sub_id) for sub_id, block in fulfilled])
            conn.execute("UPDATE poller_subscriptions SET done = 1, block = MAX(block, ?)"
                         " WHERE done = 0 AND ends_at IS NOT NULL AND ends_at <= ?",
                         (at.number, at.time))
            conn.execute("INSERT OR REPLACE INTO poller_blocks VALUES (?, ?, ?)",
                         (at.number, at.hash, at.time))
            conn.execute("DELETE FROM poller_blocks WHERE number < ?",
                         (at.number - keep_blocks,))
            conn.execute("DELETE FROM poller_subscriptions WHERE done = 1 AND block < ?",
                         (at.number - keep_blocks,))
            conn.execute(
                "UPDATE poller_state SET cursor_block = ?, cursor_hash = ?, cursor_time = ?,"
                " highest_id = ?", (at.number, at.hash, at.time, highest_id))

    def mark_done(self, sub_ids: Iterable[int], block: int) -> int:
        """The consumer will never act on these again: done as of ``block`` (the row
        keeps the later of it and the block it was last read at). Unknown ids are
        skipped. Returns how many rows became done."""
        with self._db.transaction() as conn:
            cursor = conn.executemany(
                "UPDATE poller_subscriptions SET done = 1, block = MAX(block, ?)"
                " WHERE id = ? AND done = 0", [(block, sub_id) for sub_id in sub_ids])
            return cursor.rowcount

    def done_count(self) -> int:
        """Done rows not deleted yet (inside the block window)."""
        with self._db.reading() as conn:
            return int(conn.execute(
                "SELECT COUNT(*) FROM poller_subscriptions WHERE done = 1").fetchone()[0])

    def rewind(self, to: BlockRef, highest_id: int, *, reread: Iterable[Subscription] = (),
               reread_block: int = 0) -> None:
        """Back to the common ancestor ``to`` after a reorg: later block hashes go and
        re-read subscriptions replace the stored ones, live again if they were done
        (gone ones are deleted)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM poller_blocks WHERE number > ?", (to.number,))
            for sub in reread:
                if sub.exists:
                    _upsert(conn, (sub,), reread_block)
                else:
                    conn.execute("DELETE FROM poller_subscriptions WHERE id = ?", (sub.id,))
            conn.execute(
                "UPDATE poller_state SET cursor_block = ?, cursor_hash = ?, cursor_time = ?,"
                " highest_id = ?", (to.number, to.hash, to.time, highest_id))

    def reset(self) -> None:
        """Forget everything (a reorg deeper than the stored window): sync afresh."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM poller_blocks")
            conn.execute("DELETE FROM poller_subscriptions")
            conn.execute("DELETE FROM poller_state")
            conn.execute("INSERT INTO poller_state (k) VALUES (0)")


def _upsert(conn: sqlite3.Connection, subscriptions: Iterable[Subscription], block: int) -> None:
    # One read already cancelled (or never deliverable) is done as of that block.
    conn.executemany(
        "INSERT OR REPLACE INTO poller_subscriptions (id, body, block, done, ends_at, left)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(sub.id, _encoder.encode(sub), block, int(_never_due(sub)), *_countdown(sub))
         for sub in subscriptions if sub.exists])


def _never_due(sub: Subscription) -> bool:
    return sub.cancelled or sub.last_interval == 0 or sub.redundancy == 0


def _countdown(sub: Subscription) -> tuple[int | None, int | None]:
    """(``ends_at``, ``left``): when a recurring subscription's last interval ends; how
    many more fulfilments a callback takes."""
    if sub.is_callback:
        return None, sub.redundancy
    return min(sub.active_at + sub.frequency * sub.period, _FOREVER), None


def _add_done_columns(conn: sqlite3.Connection) -> None:
    """A table from before done rows: the columns, filled in from the stored bodies."""
    for column in ("done INTEGER NOT NULL DEFAULT 0", "ends_at INTEGER", "left INTEGER"):
        conn.execute(f"ALTER TABLE poller_subscriptions ADD COLUMN {column}")
    rows = conn.execute("SELECT id, body FROM poller_subscriptions").fetchall()
    updates = []
    for sub_id, body in rows:
        sub = _decoder.decode(body)
        updates.append((int(_never_due(sub)), *_countdown(sub), sub_id))
    conn.executemany("UPDATE poller_subscriptions SET done = ?, ends_at = ?, left = ?"
                     " WHERE id = ?", updates)


def _mark_cancelled(conn: sqlite3.Connection, sub_id: int, block: int) -> None:
    row = conn.execute("SELECT body FROM poller_subscriptions WHERE id = ?",
                       (sub_id,)).fetchone()
    if row is None:
        return
    sub = msgspec.structs.replace(_decoder.decode(row[0]), active_at=CANCELLED_ACTIVE_AT)
    # Cancelled for good (unless a rewind re-reads it): no longer replayed.
    conn.execute("UPDATE poller_subscriptions SET body = ?, block = ?, done = 1 WHERE id = ?",
                 (_encoder.encode(sub), block, sub_id))
