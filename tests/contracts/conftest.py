"""Contract tests share one anvil with the suite deployed; every test runs inside an
EVM snapshot that is reverted afterwards, so tests cannot see each other's state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chain_support import ChainSession, deployed_chain


@pytest.fixture(scope="session")
def chain_session() -> Iterator[ChainSession]:
    with deployed_chain() as session:
        yield session


@pytest.fixture
def chain(chain_session: ChainSession) -> Iterator[ChainSession]:
    with chain_session.isolated() as session:
        yield session
