"""Fixtures shared by the chain-database store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.store.chain_db import ChainDb
from tests.unit.store.store_contract import FakeClock


@pytest.fixture
def chain_db(tmp_path: Path) -> Iterator[ChainDb]:
    db = ChainDb(str(tmp_path / "chain.sqlite3"))
    yield db
    db.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
