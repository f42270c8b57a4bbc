from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node.store.base import JobStore, StoreError
from node.store.sqlite_store import SCHEMA_VERSION, SqliteJobStore
from tests.unit.store.store_contract import FINISHED_TTL, RUNNING_TTL, JobStoreContract, job


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Callable[..., JobStore]]:
    opened: list[SqliteJobStore] = []

    def make(**kwargs: object) -> JobStore:
        store = SqliteJobStore(str(tmp_path / "data" / "jobs.sqlite3"), **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


class TestSqliteJobStore(JobStoreContract):
    pass


def open_at(path: Path) -> SqliteJobStore:
    return SqliteJobStore(str(path), finished_ttl=FINISHED_TTL, running_ttl=RUNNING_TTL)


def test_creates_parent_dirs_wal_and_schema_version(tmp_path: Path):
    path = tmp_path / "a" / "b" / "jobs.sqlite3"
    open_at(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        conn.close()


def test_reopen_after_close_keeps_data(tmp_path: Path):
    path = tmp_path / "jobs.sqlite3"
    store = open_at(path)
    record = job("a", at=1000.0)
    store.put(record)
    store.close()
    reopened = open_at(path)
    try:
        assert reopened.get("10.0.0.1", "a") == record
        assert reopened.runnable_pending() == [record]
    finally:
        reopened.close()


def test_use_after_close_raises_store_error(tmp_path: Path):
    store = open_at(tmp_path / "jobs.sqlite3")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.put(job("a", at=1.0))
    with pytest.raises(StoreError, match="closed"):
        store.get("10.0.0.1", "a")


def test_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "jobs.sqlite3"
    open_at(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        open_at(path)


def test_unusable_path_raises_store_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="could not open job store"):
        open_at(blocker / "jobs.sqlite3")


def test_corrupt_record_raises_store_error(tmp_path: Path):
    path = tmp_path / "jobs.sqlite3"
    store = open_at(path)
    store.put(job("a", at=1.0))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE jobs SET record = x'7b7d'")
    conn.commit()
    conn.close()
    try:
        with pytest.raises(StoreError, match="corrupt"):
            store.get("10.0.0.1", "a")
    finally:
        store.close()
