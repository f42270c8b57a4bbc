"""The subscription poller against a real anvil: startup sync, steady polling of
new subscriptions, cancellations and fulfilments, restart from the store."""

from __future__ import annotations

import time

import pytest

from node.chain.poller_messages import (
    ChainHead,
    HeadSeen,
    IntervalFulfilled,
    SnapshotDone,
    SubscriptionCancelled,
    SubscriptionsSeen,
)
from node.chain.seed_load import create_subscriptions
from node.chain.subscription import Subscription
from node.messages import ChildRestarted
from tests.chain_support import DEPLOYER_KEY, ChainSession
from tests.contracts.helpers import (
    SUBSCRIPTION_FIELDS,
    create_subscription,
    deliver,
    request_callback,
    subscription_consumer,
)
from tests.integration.chain_poller.support import CONSUMER, MessageLog, mine, poller_harness

pytestmark = pytest.mark.chain


def assert_matches_chain(chain: ChainSession, sub: Subscription, block: int | None = None) -> None:
    """``sub`` is what the Coordinator holds (at ``block``, else now)."""
    values = chain.coordinator.functions.getSubscription(sub.id).call(
        block_identifier=block if block is not None else "latest")
    on_chain = dict(zip([name for name, _ in SUBSCRIPTION_FIELDS], values, strict=True))
    assert sub.owner == on_chain["owner"]
    assert sub.active_at == on_chain["activeAt"]
    assert sub.period == on_chain["period"]
    assert sub.frequency == on_chain["frequency"]
    assert sub.redundancy == on_chain["redundancy"]
    assert sub.container_id == on_chain["containerId"]
    assert sub.lazy == on_chain["lazy"]
    assert sub.verifier == on_chain["verifier"]
    assert sub.payment_amount == on_chain["paymentAmount"]
    assert sub.payment_token == on_chain["paymentToken"]
    assert sub.wallet == on_chain["wallet"]


def snapshot_ids(log: MessageLog) -> list[int]:
    return [s.id for m in log.all(SubscriptionsSeen) if m.snapshot for s in m.subscriptions]


def test_snapshot_sync_reports_every_subscription_in_id_order_in_batches(
        fresh_chain: ChainSession, db_path: str) -> None:
    seeded = create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 120,
                                  frequency=3, period=60, redundancy=2)
    callback = request_callback(fresh_chain)
    with poller_harness(fresh_chain, db_path, batch_size=50) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        batches = [m for m in harness.log.all(SubscriptionsSeen) if m.snapshot]
        assert [len(b.subscriptions) for b in batches] == [50, 50, 21]
        assert snapshot_ids(harness.log) == [*seeded.ids, callback]
        for sub in harness.log.subscriptions().values():
            assert_matches_chain(fresh_chain, sub)
        done = harness.log.all(SnapshotDone)[0]
        assert done.highest_id == callback
        assert harness.status().tracked == 121
        assert not harness.failures


def test_new_cancelled_and_fulfilled_subscriptions_are_reported(
        fresh_chain: ChainSession, db_path: str) -> None:
    with poller_harness(fresh_chain, db_path) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        recurring = create_subscription(fresh_chain, frequency=5, period=30)
        callback = request_callback(fresh_chain)
        delivered = deliver(fresh_chain, callback, 1, fresh_chain.node)
        consumer = subscription_consumer(fresh_chain).functions
        fresh_chain.transact(consumer.cancelSubscription(recurring), fresh_chain.consumer)
        head = fresh_chain.w3.eth.block_number
        harness.wait_synced_to(head)

        seen = [m for m in harness.log.all(SubscriptionsSeen) if not m.snapshot]
        assert [s.id for m in seen for s in m.subscriptions] == [recurring, callback]
        for message in seen:
            for sub in message.subscriptions:
                assert_matches_chain(fresh_chain, sub, message.block)
        assert [m.sub_id for m in harness.log.all(SubscriptionCancelled)] == [recurring]
        fulfilled = harness.log.all(IntervalFulfilled)
        assert [(m.sub_id, m.node, m.block) for m in fulfilled] == [
            (callback, fresh_chain.node, delivered["blockNumber"])]
        block = fresh_chain.w3.eth.get_block(delivered["blockNumber"])
        assert fulfilled[0].block_time == block["timestamp"]
        heads = harness.log.all(ChainHead)
        assert heads[-1].block == head and heads[-1].synced
        assert not harness.failures


def test_trailing_blocks_hold_new_blocks_back_and_the_head_listener_hears_each_head(
        fresh_chain: ChainSession, db_path: str) -> None:
    with poller_harness(fresh_chain, db_path, trail_head_blocks=2,
                        head_listener="listener") as harness:
        heads = harness.listen("listener")
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        created = request_callback(fresh_chain)
        block = fresh_chain.w3.eth.block_number
        request_tx = "0x" + bytes(fresh_chain.w3.eth.get_block(block)["transactions"][0]).hex()

        # The listener hears the new head; the block is not processed while it is the head.
        heads.wait_for(lambda log: any(m.head == block for m in log.all(HeadSeen)),
                       what="a HeadSeen at the request's block")
        assert created not in harness.log.subscriptions()
        assert all(m.logs[1] <= block - 2 for m in heads.all(HeadSeen))

        mine(fresh_chain, 2)
        harness.wait_synced_to(block)
        seen = [m for m in harness.log.all(SubscriptionsSeen) if not m.snapshot]
        assert [(s.id, m.block, m.created) for m in seen for s in m.subscriptions] == [
            (created, block, True)]
        heads.wait_for(lambda log: any(m.logs[0] <= block <= m.logs[1]
                                       for m in log.all(HeadSeen)), what="the logs' HeadSeen")
        told = next(m for m in heads.all(HeadSeen) if m.logs[0] <= block <= m.logs[1])
        assert told.logged == ((request_tx, block),)
        assert told.head == block + 2 and told.base_fee is not None
        assert told.log_source == fresh_chain.deployment.coordinator
        assert told.heartbeat == 1.0  # the next HeadSeen within a second (polls every 0.05 s)
        assert not harness.failures


def test_starting_sub_id_above_the_highest_id_does_not_hang(
        fresh_chain: ChainSession, db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 5)
    with poller_harness(fresh_chain, db_path, starting_sub_id=1000) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, timeout=10, what="SnapshotDone")
        assert harness.log.all(SnapshotDone)[0].highest_id == 5
        assert snapshot_ids(harness.log) == []
        new_id = request_callback(fresh_chain)
        harness.log.wait_for(lambda log: new_id in log.subscriptions(), what="the new id")
        assert not harness.failures


def test_starting_sub_id_skips_older_subscriptions(fresh_chain: ChainSession,
                                                   db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 30)
    with poller_harness(fresh_chain, db_path, starting_sub_id=12, batch_size=7) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        assert snapshot_ids(harness.log) == list(range(13, 31))


def test_restart_resumes_from_the_store_without_resyncing(
        fresh_chain: ChainSession, db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 99)
    cancelled = create_subscription(fresh_chain, frequency=5, period=30)
    with poller_harness(fresh_chain, db_path, batch_size=10) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        consumer = subscription_consumer(fresh_chain).functions
        fresh_chain.transact(consumer.cancelSubscription(cancelled), fresh_chain.consumer)
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        harness.stop_poller()

        new_ids = [request_callback(fresh_chain), request_callback(fresh_chain)]
        harness.log.clear()
        rpc = harness.start_poller()
        harness.log.wait_for(lambda log: all(i in log.subscriptions() for i in new_ids),
                             what="the subscriptions created while the poller was down")
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)

        replayed = snapshot_ids(harness.log)
        assert replayed == list(range(1, 100))  # the cancelled one is done: not replayed
        assert harness.log.all(SnapshotDone)[0].highest_id == 100
        # A resync would read the 100 old subscriptions in 10 Reader batches.
        assert rpc.calls_by_method.get("eth_call", 0) <= 1, rpc.calls_by_method
        assert harness.status().tracked == 101
        assert not harness.failures


def test_interrupted_snapshot_resumes_where_it_stopped(fresh_chain: ChainSession,
                                                        db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 100)
    with poller_harness(fresh_chain, db_path, batch_size=10, batch_sleep=0.3) as harness:
        harness.start_poller()
        harness.log.wait_for(lambda log: len(snapshot_ids(log)) >= 30, what="three batches")
        harness.stop_poller()
        assert not harness.log.snapshot_done()
        first_run = len(snapshot_ids(harness.log))

        harness.log.clear()
        rpc = harness.start_poller(batch_sleep=0.01)
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        # The stored batches are replayed, then only the rest is read from the chain.
        assert snapshot_ids(harness.log) == list(range(1, 101))
        assert rpc.calls_by_method.get("eth_call", 0) <= (100 - first_run) // 10 + 2
        assert harness.status().tracked == 100
        assert not harness.failures


def test_consumer_restart_gets_everything_again(fresh_chain: ChainSession,
                                                db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 20)
    with poller_harness(fresh_chain, db_path) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        harness.stop_consumer()
        created = request_callback(fresh_chain)
        harness.log.clear()
        deadline = time.monotonic() + 20
        while harness.status().failing_reads == 0:
            assert time.monotonic() < deadline, "the poller never noticed the consumer was down"
            time.sleep(0.05)
        harness.start_consumer()
        harness.tell_poller(ChildRestarted(name=CONSUMER, generation=2, restarts=1))
        harness.log.wait_for(lambda log: created in log.subscriptions() and log.snapshot_done(),
                             what="a replay and the subscription created meanwhile")
        assert set(harness.log.subscriptions()) == set(range(1, 22))
        assert not harness.failures
