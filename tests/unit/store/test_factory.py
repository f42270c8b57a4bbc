from __future__ import annotations

from pathlib import Path

import pytest

from node.config.schema import Config, Store
from node.store.base import StoreError
from node.store.factory import open_store
from node.store.sqlite_store import SqliteJobStore
from tests.unit.store.store_contract import job


def test_sqlite_backend_lives_in_the_data_dir(tmp_path: Path):
    config = Config(store=Store(backend="sqlite", data_dir=str(tmp_path / "data")))
    store = open_store(config, node_id="n1")
    try:
        assert isinstance(store, SqliteJobStore)
        store.put(job("a", at=1.0))
        assert (tmp_path / "data" / "jobs.sqlite3").exists()
    finally:
        store.close()


def test_unknown_backend_is_named(tmp_path: Path):
    config = Config(store=Store(backend="mongo", data_dir=str(tmp_path)))
    with pytest.raises(StoreError, match=r"store\.backend.*'mongo'"):
        open_store(config, node_id="n1")
