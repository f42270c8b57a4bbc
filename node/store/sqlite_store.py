"""The embedded job store: one SQLite file in WAL mode under the node's data directory."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from node.messages import JobRecord
from node.store.base import StoreError
from node.store.codec import decode_record, encode_record, expires_at, is_finished, store_errors
from node.store.wal_checkpointer import BACKSTOP_PAGES, WAL_SIZE_LIMIT, WalCheckpointer

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# Each entry upgrades the schema from version (index) to version (index + 1); its
# statements are split on ';', so none may contain one inside a literal.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        client     TEXT NOT NULL,
        id         TEXT NOT NULL,
        status     TEXT NOT NULL,
        runnable   INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL,              -- NULL: kept until finished (runnable running jobs)
        record     BLOB NOT NULL,     -- msgspec JSON of the JobRecord
        PRIMARY KEY (client, id)
    ) WITHOUT ROWID;
    CREATE INDEX jobs_recovery ON jobs (created_at) WHERE status = 'running' AND runnable = 1;
    CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX jobs_running ON jobs (expires_at) WHERE status = 'running';
    """,
)

_UPSERT = (
    "INSERT OR REPLACE INTO jobs"
    " (client, id, status, runnable, created_at, updated_at, expires_at, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
# Stay well below SQLITE_MAX_VARIABLE_NUMBER on old SQLite builds.
_IDS_PER_QUERY = 500

_Row = tuple[str, str, str, int, float, float, float | None, bytes]


class SqliteJobStore:
    """JobStore on SQLite; safe to call from one writer and many reader threads.

    Writes go through one connection guarded by a lock; each reading thread gets
    its own connection, so readers never wait for each other and WAL lets them
    read while a write is in progress.
    """

    def __init__(
        self,
        path: str,
        *,
        finished_ttl: float,
        running_ttl: float,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 5.0,
    ) -> None:
        self._path = path
        self._finished_ttl = finished_ttl
        self._running_ttl = running_ttl
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._write_lock = threading.Lock()
        self._readers_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._closed = False
        with self._errors(f"could not open job store {path!r}"):
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
            self._writer = self._connect()
            try:
                self._migrate()
            except BaseException:
                self._writer.close()
                raise
            # Commits stay short: a thread of its own moves the WAL into the database.
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            self._writer.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            self._checkpointer = WalCheckpointer(self._connect, name="jobs-wal-checkpoint")
        log.info("job store opened", extra={"path": path, "schema_version": SCHEMA_VERSION})

    # --- connections ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit, so a lone put is one implicit transaction
        # and put_many manages its own BEGIN/COMMIT.
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode, NORMAL syncs only at checkpoints: a committed transaction is
        # in the WAL file (the OS page cache) when commit returns, so it survives the
        # process being killed (kill -9), which is what we promise. It may be lost
        # on power failure or an OS crash; FULL would cover that with an fsync per put.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("job store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            with self._readers_lock:
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        with self._transaction():
            (version,) = self._writer.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"job store {self._path!r} has schema version {version}, newer than"
                    f" this node's {SCHEMA_VERSION}; upgrade the node"
                )
            for script in _MIGRATIONS[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        self._writer.execute(statement)
            # PRAGMA does not take parameters; SCHEMA_VERSION is our own constant.
            self._writer.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if version < SCHEMA_VERSION:
            log.info(
                "job store schema migrated",
                extra={"path": self._path, "from_version": version, "to_version": SCHEMA_VERSION},
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise
        self._writer.execute("COMMIT")

    def _errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        return store_errors(f"{action} ({self._path})", (sqlite3.Error, OSError))

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._errors(action), self._write_lock:
            if self._closed:
                raise StoreError("job store is closed")
            yield self._writer
            self._checkpointer.wrote()

    # --- JobStore --------------------------------------------------------------

    def _row(self, record: JobRecord) -> _Row:
        return (
            record.client,
            record.id,
            record.status,
            1 if record.runnable else 0,
            record.created_at,
            record.updated_at,
            expires_at(record, finished_ttl=self._finished_ttl, running_ttl=self._running_ttl),
            encode_record(record),
        )

    def put(self, record: JobRecord) -> None:
        row = self._row(record)
        with self._writing(f"could not store job {record.id!r}") as conn:
            conn.execute(_UPSERT, row)

    def put_many(self, records: Sequence[JobRecord]) -> None:
        if len(records) == 1:
            self.put(records[0])  # one statement commits itself: no BEGIN/COMMIT round trip
            return
        rows = [self._row(r) for r in records]
        with self._writing(f"could not store {len(rows)} jobs") as conn, self._transaction():
            conn.executemany(_UPSERT, rows)

    def get(self, client: str, job_id: str) -> JobRecord | None:
        with self._errors(f"could not read job {job_id!r}"):
            row = (
                self._reader()
                .execute(
                    f"SELECT record FROM jobs WHERE client = ? AND id = ? AND {_LIVE}",
                    (client, job_id, self._clock()),
                )
                .fetchone()
            )
            return None if row is None else decode_record(row[0])

    def get_many(self, client: str, ids: Sequence[str]) -> list[JobRecord]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, JobRecord] = {}
        now = self._clock()
        with self._errors(f"could not read {len(wanted)} jobs"):
            conn = self._reader()
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                chunk = wanted[start : start + _IDS_PER_QUERY]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT id, record FROM jobs WHERE client = ? AND id IN ({marks}) AND {_LIVE}",
                    (client, *chunk, now),
                )
                for job_id, blob in rows:
                    found[job_id] = decode_record(blob)
        in_order = [found[i] for i in wanted if i in found]
        return [r for r in in_order if is_finished(r)] + [r for r in in_order if not is_finished(r)]

    def list_ids(self, client: str, pending: bool | None = None) -> list[str]:
        condition = {True: "AND status = 'running'", False: "AND status != 'running'", None: ""}
        with self._errors(f"could not list jobs of {client!r}"):
            rows = self._reader().execute(
                f"SELECT id FROM jobs WHERE client = ? AND {_LIVE} {condition[pending]}"
                " ORDER BY status != 'running', created_at, id",
                (client, self._clock()),
            )
            return [job_id for (job_id,) in rows]

    def runnable_pending(self) -> list[JobRecord]:
        with self._errors("could not read pending jobs"):
            rows = self._reader().execute(
                "SELECT record FROM jobs WHERE status = 'running' AND runnable = 1"
                " ORDER BY created_at"
            )
            return [decode_record(blob) for (blob,) in rows]

    def count_running(self) -> int:
        with self._errors("could not count running jobs"):
            (count,) = (
                self._reader()
                .execute(
                    f"SELECT count(*) FROM jobs WHERE status = 'running' AND {_LIVE}",
                    (self._clock(),),
                )
                .fetchone()
            )
            return int(count)

    def purge_expired(self, now: float) -> int:
        with self._writing("could not purge expired jobs") as conn:
            dropped = conn.execute(
                "DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            ).rowcount
        if dropped:
            log.info("expired jobs purged", extra={"count": dropped})
        return dropped

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._checkpointer.close()
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for conn in [*readers, self._writer]:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        log.info("job store closed", extra={"path": self._path})
