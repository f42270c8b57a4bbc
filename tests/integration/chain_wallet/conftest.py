"""The wallet actor against a real anvil through the real HttpRpc.

Tests share one deployed chain (each inside an EVM snapshot) and start their own
wallet, with its own chain database, signing with the node key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chain_support import chain, chain_session

__all__ = ["chain", "chain_session"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "chain.sqlite3"
