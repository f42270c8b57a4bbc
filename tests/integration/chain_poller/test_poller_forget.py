"""Subscriptions the consumer completed, or the chain finished with, leave the poller:
not replayed after a restart, not read again, deleted once past the reorg window; a
reorg before the completion brings them back to be decided again."""

from __future__ import annotations

import pytest

from node.chain.poller_messages import ForgetSubscriptions, Rewound, SubscriptionsSeen
from node.chain.seed_load import create_subscriptions
from node.store.chain_db import ChainDb
from node.store.sync_store import SyncStore
from tests.chain_support import ANVIL_ADDRESSES, DEPLOYER_KEY, ChainSession
from tests.contracts.helpers import create_subscription, deliver, request_callback
from tests.integration.chain_poller.support import (
    MessageLog,
    PollerHarness,
    mine,
    poller_harness,
)

pytestmark = pytest.mark.chain


def replayed_ids(log: MessageLog) -> list[int]:
    return [s.id for m in log.all(SubscriptionsSeen) if m.snapshot for s in m.subscriptions]


def synced_head(harness: PollerHarness, chain: ChainSession) -> int:
    """Starts the poller and waits for its sync to the chain's head; returns its cursor."""
    harness.start_poller()
    harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
    head = harness.wait_synced_to(chain.w3.eth.block_number).cursor_block
    assert head is not None
    return head


def test_forgotten_subscriptions_are_not_replayed_nor_read_again(
        fresh_chain: ChainSession, db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 20)
    with poller_harness(fresh_chain, db_path) as harness:
        head = synced_head(harness, fresh_chain)
        harness.tell_poller(ForgetSubscriptions((3, 4, 17), head))
        harness.tell_poller(ForgetSubscriptions((5,), head + 1000))  # past the cursor: kept
        assert harness.status().tracked == 17
        harness.stop_poller()

        harness.log.clear()
        rpc = harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="the replay")
        assert replayed_ids(harness.log) == [i for i in range(1, 21) if i not in (3, 4, 17)]
        assert rpc.calls_by_method.get("eth_call", 0) == 0, rpc.calls_by_method
        # A new subscription is still picked up.
        new = request_callback(fresh_chain)
        harness.log.wait_for(lambda log: new in log.subscriptions(), what="the new one")
        assert harness.status().tracked == 18
        assert not harness.failures


def test_done_rows_go_once_past_the_window(fresh_chain: ChainSession, db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 3)
    with poller_harness(fresh_chain, db_path) as harness:
        head = synced_head(harness, fresh_chain)
        harness.tell_poller(ForgetSubscriptions((2,), head))
        assert harness.status().tracked == 2
        store = SyncStore(ChainDb(db_path))
        assert store.done_count() == 1
        mine(fresh_chain, 70)  # the window: trail (0) + 64 blocks
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert store.done_count() == 0 and harness.status().tracked == 2


def test_a_reorg_before_the_completion_brings_it_back(fresh_chain: ChainSession,
                                                      db_path: str) -> None:
    with poller_harness(fresh_chain, db_path) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        snapshot = fresh_chain.snapshot()
        mine(fresh_chain, 1)
        sub = request_callback(fresh_chain)
        head = harness.wait_synced_to(fresh_chain.w3.eth.block_number).cursor_block
        assert head is not None
        harness.tell_poller(ForgetSubscriptions((sub,), head))
        assert harness.status().tracked == 0

        # The branch that wins holds the same request, in a later block.
        fresh_chain.revert(snapshot)
        mine(fresh_chain, 3)
        assert request_callback(fresh_chain) == sub
        harness.log.wait_for(lambda log: bool(log.all(Rewound)), what="Rewound")
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        told_after = harness.log.all(SubscriptionsSeen)[-1]
        assert [s.id for s in told_after.subscriptions] == [sub]  # to be decided again
        assert harness.status().tracked == 1
        assert not harness.failures


def test_subscriptions_the_chain_finished_with_are_done_whoever_they_are_for(
        fresh_chain: ChainSession, db_path: str) -> None:
    with poller_harness(fresh_chain, db_path) as harness:
        synced_head(harness, fresh_chain)
        callback = request_callback(fresh_chain, redundancy=2)
        recurring = create_subscription(fresh_chain, frequency=1, period=30)
        deliver(fresh_chain, callback, 1, fresh_chain.node)
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert harness.status().tracked == 2  # one of two deliveries so far

        deliver(fresh_chain, callback, 1, ANVIL_ADDRESSES[3])
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert harness.status().tracked == 1

        ends = harness.log.subscriptions()[recurring].interval_end(1)
        assert ends is not None
        fresh_chain.mine_at(ends - 1)
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert harness.status().tracked == 1  # its one interval is still open
        fresh_chain.mine_at(ends)
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert harness.status().tracked == 0
        harness.stop_poller()

        harness.log.clear()
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="the replay")
        assert replayed_ids(harness.log) == []
        assert not harness.failures
