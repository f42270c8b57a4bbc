"""Every poller test gets its own freshly deployed anvil (deploying takes well under a
second), because the poller's cursor and block hashes depend on the whole chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chain_support import ChainSession, deployed_chain


@pytest.fixture
def fresh_chain() -> Iterator[ChainSession]:
    with deployed_chain() as session:
        yield session


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "chain.sqlite3")
