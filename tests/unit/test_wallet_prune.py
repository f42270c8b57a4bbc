"""The wallet's prune run: bounded per run, in short database transactions, keeping the
keys still in use, and one log line with the counts when something went."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import actors.wallet
from actors.base import ChildContext
from actors.directory import Directory
from actors.wallet import WalletActor
from node.chain.tx import Attempt, Fees, TxRequest
from node.store.chain_db import ChainDb
from node.store.tx_store import TxStore
from tests.chain_support import NODE_KEY
from tests.unit.store.store_contract import FakeClock

RETENTION = 3600.0


@pytest.fixture
def wallet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WalletActor]:
    monkeypatch.setattr(actors.wallet, "PRUNE_CHUNK", 4)
    monkeypatch.setattr(actors.wallet, "PRUNE_BATCH", 10)
    db = ChainDb(str(tmp_path / "chain.sqlite3"))
    calls: list[Sequence[str]] = []

    def in_use(keys: Sequence[str]) -> set[str]:
        calls.append(keys)
        return {"in-use"}

    # Not started: the run is driven by hand, as the ticker's _Prune would.
    actor = WalletActor(ChildContext("wallet", 1, Directory(), lambda failure: None),
                        rpc=None, private_key=NODE_KEY, db=db,  # type: ignore[arg-type]
                        max_gas_limit=1_000_000, allowed_sim_errors=(),
                        retention=RETENTION, keys_in_use=in_use)
    yield actor
    db.close()


def decided(store: TxStore, clock: FakeClock, keys: list[str]) -> None:
    for nonce, key in enumerate(keys):
        store.open(key, TxRequest(to="0x" + "cd" * 20, data=b"x"), "scheduler")
        store.save_attempt(Attempt(key=key, nonce=nonce, tx_hash=f"0x{nonce:064x}",
                                   raw=b"raw", fees=Fees(2, 1), gas=21_000, created_at=0.0))
        store.finish(key, "mined", block_number=1)
        store.mark_notified(key)
        clock.now += 1


def test_a_run_is_bounded_and_logs_its_counts_once(
        wallet: WalletActor, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    wallet._store = TxStore(wallet._db, wallet.address, clock=clock)
    decided(wallet.store, clock, ["in-use", *[f"k{i:02d}" for i in range(13)]])
    clock.now += RETENTION

    with caplog.at_level(logging.INFO, logger="actors.wallet"):
        wallet._prune()
        wallet._prune()
        wallet._prune()  # nothing left: no line
    lines = [r for r in caplog.records if r.getMessage() == "decided transactions pruned"]
    assert [(r.transactions, r.attempts, r.kept_in_use) for r in lines] == \
        [(10, 10, 1), (3, 3, 1)]  # type: ignore[attr-defined]
    assert wallet.store.get("in-use") is not None
    assert all(wallet.store.get(f"k{i:02d}") is None for i in range(13))
