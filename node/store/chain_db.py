"""The node's durable chain state: one SQLite file shared by the chain actors.

Each owner keeps its own tables (created with ``CREATE TABLE IF NOT EXISTS`` by
its module): the poller its sync cursor, block hashes and synced subscriptions;
the scheduler its per-(subscription, interval) claims; the wallet its
transactions. They share one file so that one transaction can move a claim and
a transaction together when that matters. WAL mode with synchronous=NORMAL
survives a killed process (not a power cut), which is the promise we make.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ChainDb:
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; callers from any thread are serialised."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def chain_db_path(data_dir: str) -> str:
    return os.path.join(data_dir, "chain.sqlite3")
