"""Pruning settled interval claims: a final claim goes only once its interval has been
unreachable (``closes_at``, chain time) and settled for longer than the retention; open
claims, claims of a current interval and callback claims stay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from node.store.chain_db import ChainDb
from node.store.claim_store import Claim, ClaimState, ClaimStore, claim_key
from tests.unit.store.store_contract import FakeClock

DAY = 86_400
RETENTION = 7.0 * DAY
CHAIN_NOW = 1_800_000_000


@pytest.fixture
def claims(chain_db: ChainDb, fake_clock: FakeClock) -> ClaimStore:
    return ClaimStore(chain_db, clock=fake_clock)


def put(claims: ClaimStore, sub: str, interval: int, state: ClaimState,
        closes_at: int | None, payload: bytes | None = b'{"calldata":"00"}') -> str:
    key = claim_key(sub, interval)
    claims.put(Claim(key=key, sub_key=sub, interval=interval, state=state, attempts=1,
                     payload=payload, closes_at=closes_at))
    return key


def prune(claims: ClaimStore, chain_time: int = CHAIN_NOW, limit: int = 100) -> int:
    return claims.prune(chain_time=chain_time, retention=RETENTION, limit=limit)


def test_only_final_claims_closed_and_settled_longer_than_the_retention_go(
        claims: ClaimStore, fake_clock: FakeClock) -> None:
    long_closed = CHAIN_NOW - 8 * DAY
    gone = put(claims, "sub:1", 1, "delivered", long_closed)
    skipped = put(claims, "sub:1", 2, "skipped", long_closed)
    failed = put(claims, "sub:1", 3, "failed", long_closed)
    open_old = put(claims, "sub:1", 4, "delivering", long_closed)
    retry_old = put(claims, "sub:1", 5, "retry", long_closed)
    current = put(claims, "sub:2", 9, "delivered", CHAIN_NOW + 60)  # interval not over
    lately_closed = put(claims, "sub:3", 1, "delivered", CHAIN_NOW - 6 * DAY)
    callback = put(claims, "sub:4", 1, "delivered", None)  # period 0: never closes
    fake_clock.now += RETENTION + 1
    fresh = put(claims, "sub:5", 1, "delivered", long_closed)  # settled just now

    assert prune(claims) == 3
    for key in (gone, skipped, failed):
        assert claims.get(key) is None, key
    for key in (open_old, retry_old, current, lately_closed, callback, fresh):
        assert claims.get(key) is not None, key
    assert {c.key for c in claims.open_claims()} == {open_old, retry_old}
    assert claims.final_keys("sub:1") == set()
    assert prune(claims) == 0


def test_a_cancellation_closes_every_claim_of_that_subscription_only(
        claims: ClaimStore, fake_clock: FakeClock) -> None:
    callback = put(claims, "sub:7", 1, "delivered", None)
    periodic = put(claims, "sub:7", 3, "skipped", CHAIN_NOW + DAY)
    neighbour = put(claims, "sub:70", 1, "delivered", None)  # "sub:7" is a prefix of it
    fake_clock.now += RETENTION + 1
    cancelled_at = CHAIN_NOW - 8 * DAY
    assert claims.close_subscription("sub:7", cancelled_at) == 2
    assert claims.get(callback).closes_at == cancelled_at  # type: ignore[union-attr]
    assert prune(claims) == 2
    assert claims.get(callback) is None and claims.get(periodic) is None
    assert claims.get(neighbour) is not None


def test_closing_only_moves_earlier_even_when_the_claim_settles_later(
        claims: ClaimStore) -> None:
    key = put(claims, "sub:8", 1, "delivering", None)
    claims.close_subscription("sub:8", 500)
    claims.close_subscription("sub:8", 900)  # seen again later: the first stays
    settled = Claim(key=key, sub_key="sub:8", interval=1, state="failed", attempts=1)
    claims.put(settled)  # the in-memory claim knows nothing of the cancellation
    assert claims.get(key).closes_at == 500  # type: ignore[union-attr]
    claims.put(Claim(key=key, sub_key="sub:8", interval=1, state="failed", closes_at=100))
    assert claims.get(key).closes_at == 100  # type: ignore[union-attr]


def test_a_settled_claim_keeps_no_payload_and_an_open_one_keeps_it(
        claims: ClaimStore) -> None:
    key = put(claims, "deleg:0xabc:1", 1, "delivering", 10, payload=b'{"tx_key":"x"}')
    assert claims.get(key).payload == b'{"tx_key":"x"}'  # type: ignore[union-attr]
    put(claims, "deleg:0xabc:1", 1, "delivered", 10, payload=b'{"tx_key":"x"}')
    assert claims.get(key).payload is None  # type: ignore[union-attr]
    settled_at_once = put(claims, "sub:3", 1, "skipped", 10, payload=b'{"tx_key":"y"}')
    assert claims.get(settled_at_once).payload is None  # type: ignore[union-attr]


def test_a_backlog_goes_in_bounded_batches(claims: ClaimStore, fake_clock: FakeClock) -> None:
    for interval in range(1, 26):
        put(claims, "sub:9", interval, "delivered", CHAIN_NOW - 30 * DAY + interval)
    fake_clock.now += RETENTION + 1
    assert [prune(claims, limit=10) for _ in range(4)] == [10, 10, 5, 0]


def test_open_keys_are_the_unsettled_claims(claims: ClaimStore) -> None:
    put(claims, "sub:1", 1, "delivered", 5)
    put(claims, "sub:1", 2, "delivering", 5)
    put(claims, "sub:2", 1, "claimed", None)
    assert claims.open_keys() == {"sub:1:2", "sub:2:1"}


def test_a_table_from_before_pruning_gets_the_column_and_its_rows_stay(
        tmp_path: Path, fake_clock: FakeClock) -> None:
    path = str(tmp_path / "chain.sqlite3")
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE interval_claims (key TEXT PRIMARY KEY, sub_key TEXT NOT NULL,"
        " interval INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " job_id TEXT, reason TEXT, retry_at REAL, payload BLOB, updated REAL NOT NULL);"
        "INSERT INTO interval_claims (key, sub_key, interval, state, updated)"
        " VALUES ('sub:1:1', 'sub:1', 1, 'delivered', 1.0);")
    conn.close()
    db = ChainDb(path)
    try:
        claims = ClaimStore(db, clock=fake_clock)
        old = claims.get("sub:1:1")
        assert old is not None and old.closes_at is None and old.final
        fake_clock.now += RETENTION + 1
        assert prune(claims) == 0  # nothing says its interval closed: it stays
        put(claims, "sub:1", 2, "delivered", 1)
        fake_clock.now += RETENTION + 1
        assert prune(claims) == 1 and claims.get("sub:1:1") is not None
    finally:
        db.close()
