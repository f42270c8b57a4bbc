"""Background WAL checkpoints: commits leave the copying to another thread."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from node.store.sqlite_store import SqliteJobStore
from node.store.wal_checkpointer import WalCheckpointer
from tests.unit.store.store_contract import FINISHED_TTL, RUNNING_TTL, job

WAIT = 5.0


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def wal_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def test_committed_pages_reach_the_database_file_after_a_write_is_signalled(tmp_path: Path):
    path = tmp_path / "w.sqlite3"
    writer = wal_connection(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # only the checkpointer copies pages
    writer.execute("CREATE TABLE t (v BLOB)")
    writer.executemany("INSERT INTO t VALUES (?)", [(b"x" * 2000,) for _ in range(50)])
    before = path.stat().st_size
    checkpointer = WalCheckpointer(lambda: wal_connection(path), every=0.01)
    try:
        checkpointer.wrote()
        assert wait_for(lambda: path.stat().st_size > before + 50 * 2000)
    finally:
        checkpointer.close()
        writer.close()


def test_close_stops_the_thread_even_when_nothing_was_written(tmp_path: Path):
    checkpointer = WalCheckpointer(lambda: wal_connection(tmp_path / "idle.sqlite3"))
    checkpointer.close()
    assert not checkpointer._thread.is_alive()


def test_job_store_commits_are_checkpointed_in_the_background(tmp_path: Path):
    # 30 small records stay far below SQLite's own threshold (1,000 pages), so only the
    # store's checkpointer can move them into the database file while it is open.
    path = tmp_path / "jobs.sqlite3"
    store = SqliteJobStore(str(path), finished_ttl=FINISHED_TTL, running_ttl=RUNNING_TTL)
    try:
        before = path.stat().st_size
        for n in range(30):
            store.put(job(f"job-{n}", at=1000.0 + n))
        assert wait_for(lambda: path.stat().st_size > before)
    finally:
        store.close()
