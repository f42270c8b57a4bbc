"""The wallet's transaction store: keys, attempts saved before sending, outcomes,
the state machine enforced on every write, and durability across reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.chain.tx import Attempt, Fees, InvalidTransition, TxRequest
from node.store.chain_db import ChainDb
from node.store.tx_store import TxStore, UnknownTransaction

SENDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TO = "0x" + "cd" * 20
REQUEST = TxRequest(to=TO, data=b"\x00call", value=2**200)
FEES = Fees(100, 10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def db(chain_db: ChainDb) -> ChainDb:
    return chain_db


@pytest.fixture
def store(db: ChainDb) -> TxStore:
    return TxStore(db, SENDER, clock=Clock())


def attempt(key: str, nonce: int, n: int = 1, fees: Fees = FEES) -> Attempt:
    return Attempt(key=key, nonce=nonce, tx_hash=f"0x{n:064x}", raw=bytes([n]) * 8,
                   fees=fees, gas=90_000, created_at=float(n))


def test_open_creates_a_queued_transaction_once(store: TxStore) -> None:
    record = store.open("sub:1:1", REQUEST, "scheduler")
    assert (record.state, record.request, record.reply_to) == ("queued", REQUEST, "scheduler")
    again = store.open("sub:1:1", TxRequest(to=TO, data=b"other"), "elsewhere")
    assert again == record  # in flight: untouched
    assert store.get("missing") is None


def test_attempts_are_saved_before_sending_and_marked_after(store: TxStore) -> None:
    store.open("k", REQUEST, "r")
    store.save_attempt(attempt("k", 5))
    record = store.get("k")
    assert record is not None
    assert (record.state, record.nonce, record.gas, record.tx_hash) == \
        ("signed", 5, 90_000, f"0x{1:064x}")
    assert [a.sent for a in store.attempts("k")] == [False]

    store.mark_sent("k", f"0x{1:064x}")
    store.save_attempt(attempt("k", 5, n=2, fees=Fees(113, 12)))  # a replacement
    assert [(a.tx_hash, a.sent, a.fees) for a in store.attempts("k")] == [
        (f"0x{1:064x}", True, Fees(100, 10)), (f"0x{2:064x}", False, Fees(113, 12))]
    assert store.get("k").state == "signed"  # type: ignore[union-attr]


def test_legacy_fees_round_trip(store: TxStore) -> None:
    store.open("k", REQUEST, "r")
    store.save_attempt(attempt("k", 0, fees=Fees(10**30)))
    assert store.attempts("k")[0].fees == Fees(10**30)


def test_in_flight_by_nonce_and_highest_nonce(store: TxStore) -> None:
    assert store.highest_nonce() is None
    for key, nonce in (("c", 9), ("a", 7), ("b", 8)):
        store.open(key, REQUEST, "r")
        store.save_attempt(attempt(key, nonce, n=nonce))
    store.open("queued", REQUEST, "r")
    assert [r.key for r in store.in_flight()] == ["a", "b", "c", "queued"]
    assert [r.key for r in store.by_nonce(8)] == ["b"]
    assert store.highest_nonce() == 9

    store.mark_sent("a", f"0x{7:064x}")
    store.finish("a", "mined", tx_hash=f"0x{7:064x}", block_number=3, gas_used=50_000)
    assert [r.key for r in store.in_flight()] == ["b", "c", "queued"]
    assert store.highest_nonce() == 9


def test_outcomes_are_kept_until_notified(store: TxStore) -> None:
    store.open("k", REQUEST, "r")
    store.save_attempt(attempt("k", 1))
    store.mark_sent("k", f"0x{1:064x}")
    record = store.finish("k", "reverted", tx_hash=f"0x{1:064x}", block_number=4, gas_used=7,
                          error="reverted on-chain", revert_name="IntervalCompleted",
                          revert_class="terminal_interval")
    assert (record.state, record.block_number, record.gas_used, record.revert_name,
            record.revert_class, record.notified) == \
        ("reverted", 4, 7, "IntervalCompleted", "terminal_interval", False)
    assert [r.key for r in store.unnotified()] == ["k"]
    store.mark_notified("k")
    assert store.unnotified() == []
    assert [r.key for r in store.recent_outcomes()] == ["k"]


def test_on_chain_outcomes_are_final_but_off_chain_failures_start_over(store: TxStore) -> None:
    store.open("sim", REQUEST, "r")
    store.finish("sim", "simulation_failed", error="SubscriptionNotActive()",
                 revert_name="SubscriptionNotActive", revert_class="retry_later")
    retried = store.open("sim", TxRequest(to=TO, data=b"new"), "r2")
    assert (retried.state, retried.request.data, retried.reply_to, retried.error) == \
        ("queued", b"new", "r2", None)

    store.open("done", REQUEST, "r")
    store.save_attempt(attempt("done", 3))
    store.mark_sent("done", f"0x{1:064x}")
    mined = store.finish("done", "mined", block_number=9)
    assert store.open("done", TxRequest(to=TO, data=b"again"), "r") == mined


def test_writes_follow_the_state_machine(store: TxStore) -> None:
    store.open("k", REQUEST, "r")
    with pytest.raises(InvalidTransition):
        store.mark_sent("k", "0x00")  # never signed
    with pytest.raises(InvalidTransition):
        store.finish("k", "mined")  # queued cannot be mined
    with pytest.raises(ValueError, match="not a final state"):
        store.finish("k", "sent")
    with pytest.raises(UnknownTransaction):
        store.save_attempt(attempt("nope", 1))
    assert store.attempts("nope") == []  # the failed write left nothing behind


def test_everything_survives_reopening_and_senders_are_separate(tmp_path: Path) -> None:
    path = str(tmp_path / "chain.sqlite3")
    db = ChainDb(path)
    TxStore(db, SENDER).open("k", REQUEST, "r")
    TxStore(db, SENDER).save_attempt(attempt("k", 4))
    db.close()

    db = ChainDb(path)
    try:
        store = TxStore(db, SENDER.upper().replace("0X", "0x"))
        assert store.get("k").request == REQUEST  # type: ignore[union-attr]
        assert store.attempts("k") == [attempt("k", 4)]
        other = TxStore(db, "0x" + "11" * 20)
        assert other.get("k") is None and other.in_flight() == [] and other.highest_nonce() is None
    finally:
        db.close()
