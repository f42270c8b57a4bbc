"""Contract tests share one anvil with the suite deployed; every test runs inside an
EVM snapshot that is reverted afterwards, so tests cannot see each other's state."""

from tests.chain_support import chain, chain_session

__all__ = ["chain", "chain_session"]
