"""Pruning the wallet's decided transactions: only decided, notified rows older than the
retention go (with their attempts); in-flight, unnotified, recent and in-use ones stay."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from node.chain.tx import Attempt, Fees, TxRequest
from node.store.chain_db import ChainDb
from node.store.tx_store import TxStore
from tests.unit.store.store_contract import FakeClock

SENDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
REQUEST = TxRequest(to="0x" + "cd" * 20, data=b"\x00call")
DAY = 86_400.0
RETENTION = 7 * DAY


@pytest.fixture
def store(chain_db: ChainDb, fake_clock: FakeClock) -> TxStore:
    return TxStore(chain_db, SENDER, clock=fake_clock)


def sent(store: TxStore, key: str, nonce: int) -> str:
    tx_hash = f"0x{nonce + 1:064x}"
    store.open(key, REQUEST, "scheduler")
    store.save_attempt(Attempt(key=key, nonce=nonce, tx_hash=tx_hash, raw=b"\x01" * 8,
                               fees=Fees(100, 10), gas=90_000, created_at=1.0))
    store.mark_sent(key, tx_hash)
    return tx_hash


def mined(store: TxStore, key: str, nonce: int, *, notified: bool = True) -> None:
    tx_hash = sent(store, key, nonce)
    store.finish(key, "mined", tx_hash=tx_hash, block_number=nonce + 1, gas_used=50_000)
    if notified:
        store.mark_notified(key)


def attempt_rows(chain_db: ChainDb) -> int:
    with chain_db.reading() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM wallet_attempt").fetchone()[0])


def test_only_decided_notified_rows_older_than_the_retention_go(
        chain_db: ChainDb, store: TxStore, fake_clock: FakeClock) -> None:
    mined(store, "old-mined", 0)
    store.open("old-failed", REQUEST, "scheduler")
    store.finish("old-failed", "simulation_failed", error="IntervalCompleted()")
    store.mark_notified("old-failed")
    mined(store, "old-unnotified", 1, notified=False)
    sent(store, "old-in-flight", 2)
    store.open("old-queued", REQUEST, "scheduler")
    fake_clock.now += RETENTION + 1
    mined(store, "recent", 3)

    pruned = store.prune(retention=RETENTION, limit=100)

    assert (pruned.transactions, pruned.attempts, pruned.kept) == (2, 1, 0)
    assert store.get("old-mined") is None and store.get("old-failed") is None
    assert store.attempts("old-mined") == []
    for key in ("old-unnotified", "old-in-flight", "old-queued", "recent"):
        assert store.get(key) is not None, key
    assert [a.key for a in store.attempts("old-in-flight")] == ["old-in-flight"]
    assert attempt_rows(chain_db) == 3  # unnotified, in flight, recent
    assert store.prune(retention=RETENTION, limit=100).transactions == 0


def test_keys_the_requester_still_uses_stay_and_a_repeat_gets_the_stored_outcome(
        store: TxStore, fake_clock: FakeClock) -> None:
    mined(store, "sub:1:1/1", 0)
    mined(store, "sub:2:1/1", 1)
    fake_clock.now += RETENTION + 1
    asked: list[Sequence[str]] = []

    def in_use(keys: Sequence[str]) -> set[str]:
        asked.append(list(keys))
        return {"sub:2:1/1"}

    pruned = store.prune(retention=RETENTION, limit=100, in_use=in_use)
    assert (pruned.transactions, pruned.kept) == (1, 1)
    assert sorted(asked[0]) == ["sub:1:1/1", "sub:2:1/1"]
    kept = store.get("sub:2:1/1")
    assert kept is not None and kept.state == "mined"
    # The idempotency the scheduler relies on: the same key is answered, not sent again.
    assert store.open("sub:2:1/1", REQUEST, "scheduler") == kept
    # A pruned key would start over: that is why the in-use keys must stay.
    assert store.open("sub:1:1/1", REQUEST, "scheduler").state == "queued"


def test_a_backlog_goes_in_bounded_batches_oldest_first(store: TxStore,
                                                        fake_clock: FakeClock) -> None:
    for nonce in range(25):
        mined(store, f"k{nonce:02d}", nonce)
        fake_clock.now += 1
    fake_clock.now += RETENTION
    assert store.prune(retention=RETENTION, limit=10).transactions == 10
    assert store.get("k09") is None and store.get("k10") is not None
    assert store.prune(retention=RETENTION, limit=10).transactions == 10
    assert store.prune(retention=RETENTION, limit=10).transactions == 5
    assert store.prune(retention=RETENTION, limit=10).transactions == 0
    assert store.highest_nonce() is None


def test_other_senders_rows_are_left_alone(chain_db: ChainDb, store: TxStore,
                                           fake_clock: FakeClock) -> None:
    other = TxStore(chain_db, "0x" + "11" * 20, clock=fake_clock)
    mined(other, "k", 0)
    mined(store, "k", 1)  # tx hashes are unique across senders
    fake_clock.now += RETENTION + 1
    assert store.prune(retention=RETENTION, limit=100).transactions == 1
    assert other.get("k") is not None and store.get("k") is None
