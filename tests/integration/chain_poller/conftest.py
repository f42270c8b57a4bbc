"""Every poller test gets its own freshly deployed anvil (deploying takes well under a
second), because the poller's cursor and block hashes depend on the whole chain."""

from __future__ import annotations

import logging
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


@pytest.fixture(autouse=True)
def _every_log_call_made(caplog: pytest.LogCaptureFixture) -> None:
    # Log records are only built when enabled: a bad ``extra`` key shows up only here.
    caplog.set_level(logging.DEBUG)
