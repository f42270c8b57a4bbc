"""A real node forgets subscriptions it will never act on again: a callback it delivered
and a recurring subscription after its last interval leave the scheduler and the
poller's store, do not come back after a restart, and new requests are still served."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.chain_support import deployed_chain
from tests.integration.node_chain.support import ZERO, chain_node, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.slow]

COMPLETE = "subscription complete; no longer tracked"


@pytest.fixture(scope="module")
def session():
    with deployed_chain() as s:
        yield s


def completed(node, sub_id: int) -> bool:
    return any(e.get("subscription_id") == sub_id for e in node.events(COMPLETE))


def replayable(workdir: Path, sub_id: int) -> bool:
    """The poller's row for ``sub_id`` is still replayed (present and not done)."""
    with sqlite3.connect(workdir / "data" / "chain.sqlite3") as conn:
        row = conn.execute("SELECT done FROM poller_subscriptions WHERE id = ?",
                           (sub_id,)).fetchone()
    return row is not None and row[0] == 0


def request(session, cb, payload: bytes) -> int:
    sub_id = int(session.coordinator.functions.id().call())  # the id it will get
    session.transact(cb.functions.requestCompute("echo", payload, 1, ZERO, 0, ZERO, ZERO),
                     session.consumer)
    return sub_id


def test_a_delivered_callback_is_forgotten_and_not_replayed(session, tmp_path: Path) -> None:
    cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        before = cb.functions.deliveryCount().call()
        first = request(session, cb, b"once")
        wait_until(lambda: cb.functions.deliveryCount().call() > before, 30,
                   f"a delivery\n{node.log()}")
        wait_until(lambda: completed(node, first), 30, f"completion\n{node.log()}")
    assert not replayable(tmp_path, first)

    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        replays = wait_until(lambda: node.events("subscriptions replayed from the store"), 30,
                             f"the replay\n{node.log()}")
        before = cb.functions.deliveryCount().call()
        second = request(session, cb, b"twice")
        wait_until(lambda: cb.functions.deliveryCount().call() > before, 30,
                   f"a new delivery\n{node.log()}")
        wait_until(lambda: completed(node, second), 30, f"completion\n{node.log()}")
        tracked = {e.get("subscription_id") for e in node.events("subscription tracked")}
        assert first not in tracked and second in tracked
        assert cb.functions.deliveryCount().call() == before + 1  # nothing delivered twice
        assert replays[0]["count"] == 0


def test_a_recurring_subscription_is_forgotten_after_its_last_interval(
        session, tmp_path: Path) -> None:
    sc = session.contract("ExampleSubscriptionConsumer",
                          session.deployment.subscription_consumer)
    before = sc.functions.deliveryCount().call()
    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        session.transact(sc.functions.setInputs(b"tick"), session.consumer)
        sub_id = int(session.coordinator.functions.id().call())
        session.transact(sc.functions.createSubscription("echo", 2, 4, 1, False, ZERO, 0, ZERO,
                                                         ZERO), session.consumer)
        for _ in range(40):
            if completed(node, sub_id):
                break
            session.mine_at(session.now() + 1)
            time.sleep(0.5)
        wait_until(lambda: completed(node, sub_id), 10, f"completion\n{node.log()}")
        assert sc.functions.deliveryCount().call() - before == 2
    assert not replayable(tmp_path, sub_id)
