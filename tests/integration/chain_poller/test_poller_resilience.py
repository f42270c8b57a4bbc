"""The subscription poller when the chain misbehaves: reorgs, 429s, an RPC that goes
away and comes back, and the per-block RPC budget in steady state."""

from __future__ import annotations

import time

import pytest

from actors.chain_poller import Poll
from node.chain.deployment import deploy_suite
from node.chain.devchain import AnvilProcess
from node.chain.poller_messages import Rewound, SubscriptionCancelled, SubscriptionsSeen
from node.chain.seed_load import create_subscriptions
from tests.chain_support import DEPLOYER_KEY, ChainSession
from tests.contracts.helpers import create_subscription, request_callback, subscription_consumer
from tests.integration.chain_poller.support import (
    MessageLog,
    mine,
    poller_harness,
    rate_limiting_proxy,
)

pytestmark = pytest.mark.chain


def wait_until(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_reorg_rewinds_to_the_common_ancestor_and_ends_in_the_chains_state(
        fresh_chain: ChainSession, db_path: str) -> None:
    kept = create_subscription(fresh_chain, frequency=5, period=30)
    with poller_harness(fresh_chain, db_path) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        fork_point = fresh_chain.w3.eth.block_number
        snapshot = fresh_chain.snapshot()

        # The branch that will be dropped: a new subscription and a cancellation.
        dropped = request_callback(fresh_chain, b"dropped")
        consumer = subscription_consumer(fresh_chain).functions
        fresh_chain.transact(consumer.cancelSubscription(kept), fresh_chain.consumer)
        mine(fresh_chain, 1)
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert [m.sub_id for m in harness.log.all(SubscriptionCancelled)] == [kept]
        old_head = fresh_chain.w3.eth.block_number

        # The branch that wins: a different subscription under the same id, and longer.
        fresh_chain.revert(snapshot)
        replacement = create_subscription(fresh_chain, frequency=9, period=90)
        assert replacement == dropped
        mine(fresh_chain, old_head - fresh_chain.w3.eth.block_number + 2)
        harness.log.wait_for(lambda log: bool(log.all(Rewound)), what="Rewound")
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)

        rewound = harness.log.all(Rewound)
        assert fork_point - 64 <= rewound[0].to_block <= fork_point
        latest = harness.log.subscriptions()
        # The dropped cancellation is undone by re-reading the subscription at the ancestor.
        assert not latest[kept].cancelled
        assert len(harness.log.all(SubscriptionCancelled)) == 1
        assert (latest[replacement].period, latest[replacement].frequency) == (90, 9)
        status = harness.status()
        assert status.tracked == 2 and status.highest_id == replacement
        assert not harness.failures


@pytest.mark.parametrize("replacement_logs", [True, False])
def test_a_replaced_cursor_block_is_caught_when_several_blocks_come_at_once(
        fresh_chain: ChainSession, db_path: str, replacement_logs: bool) -> None:
    """The poller's cursor block had logs, so a range read checks it through those logs
    instead of its header: a fork that replaced it (with other logs, or none) rewinds."""
    with poller_harness(fresh_chain, db_path, sync_period=3600) as harness:
        harness.start_poller()  # polls once at start; then only when told to
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        snapshot = fresh_chain.snapshot()
        dropped = create_subscription(fresh_chain, frequency=5, period=30)
        harness.tell_poller(Poll())
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)

        fresh_chain.revert(snapshot)
        if replacement_logs:
            assert create_subscription(fresh_chain, frequency=9, period=90) == dropped
        else:
            mine(fresh_chain, 1)
        mine(fresh_chain, 2)  # the range the next poll reads starts at the cursor
        harness.tell_poller(Poll())
        harness.log.wait_for(lambda log: bool(log.all(Rewound)), what="Rewound")
        harness.tell_poller(Poll())
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)

        latest = harness.log.subscriptions()
        if replacement_logs:
            assert (latest[dropped].period, latest[dropped].frequency) == (90, 9)
            assert harness.status().tracked == 1
        else:
            assert not latest[dropped].exists
            assert harness.status().tracked == 0
        assert not harness.failures


def test_rate_limited_rpc_backs_off_then_recovers(fresh_chain: ChainSession,
                                                  db_path: str) -> None:
    with (rate_limiting_proxy(fresh_chain.anvil.rpc_url) as (url, throttle),
          poller_harness(fresh_chain, db_path, rpc_url=url, sync_period=0.05) as harness):
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        throttle.limited.set()
        created = request_callback(fresh_chain)
        wait_until(lambda: throttle.refused >= 4, 20, "four refused requests")
        # Polling every 50 ms without backoff would have sent ~30 by now.
        assert throttle.refused <= 8
        assert harness.status().failing_reads >= 4
        throttle.limited.clear()
        harness.log.wait_for(lambda log: created in log.subscriptions(), timeout=40,
                             what="the subscription created while rate limited")
        wait_until(lambda: harness.status().failing_reads == 0, 10, "recovery")
        assert not harness.failures


def test_poller_resumes_when_anvil_comes_back(fresh_chain: ChainSession, db_path: str) -> None:
    with poller_harness(fresh_chain, db_path) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        fresh_chain.anvil.stop()
        try:
            wait_until(lambda: harness.status().failing_reads >= 2, 20, "failing reads")
        finally:
            fresh_chain.anvil.start()
        created = request_callback(fresh_chain)
        harness.log.wait_for(lambda log: created in log.subscriptions(), timeout=40,
                             what="the subscription created after the restart")
        harness.wait_synced_to(fresh_chain.w3.eth.block_number, timeout=40)
        assert harness.status().failing_reads == 0
        assert not harness.failures


def test_steady_state_rpc_calls_are_bounded_per_block_and_never_reread(
        fresh_chain: ChainSession, db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 220,
                         frequency=10, period=3600)
    with poller_harness(fresh_chain, db_path, sync_period=0.05) as harness:
        rpc = harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        assert harness.status().tracked == 220

        # No new block: one latest-header read per poll (trail_head_blocks 0) and nothing else.
        before = rpc.calls_by_method
        time.sleep(1.0)  # a measuring window, not a wait for a condition
        idle = {k: v - before.get(k, 0) for k, v in rpc.calls_by_method.items()
                if v != before.get(k, 0)}
        assert set(idle) <= {"eth_getBlockByNumber"}, idle
        assert idle.get("eth_getBlockByNumber", 0) <= 1.0 / 0.05 + 2

        # Ten new empty blocks: one eth_getLogs each at most, no reads; the headers are
        # the polls' own, plus the cursor's when several blocks came between two polls.
        before = rpc.calls_by_method
        started = time.monotonic()
        blocks = 10
        mine(fresh_chain, blocks)
        harness.wait_synced_to(fresh_chain.w3.eth.block_number)
        polls = (time.monotonic() - started) / 0.05 + 2
        spent = {k: v - before.get(k, 0) for k, v in rpc.calls_by_method.items()
                 if v != before.get(k, 0)}
        assert set(spent) <= {"eth_getBlockByNumber", "eth_getLogs"}, spent
        assert spent.get("eth_getLogs", 0) <= blocks
        assert spent.get("eth_getBlockByNumber", 0) <= polls + spent.get("eth_getLogs", 0)
        seen_after = [m for m in harness.log.all(SubscriptionsSeen) if not m.snapshot]
        assert seen_after == []
        assert not harness.failures


def test_chain_replaced_by_a_shorter_one_is_synced_afresh(fresh_chain: ChainSession,
                                                          db_path: str) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 10)
    with poller_harness(fresh_chain, db_path) as harness:
        harness.start_poller()
        harness.log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        old_head = fresh_chain.w3.eth.block_number
        harness.wait_synced_to(old_head)

        # A dev chain restarted without its state: same port, same contract addresses,
        # fewer blocks and different subscriptions.
        fresh_chain.anvil.stop()
        replacement = AnvilProcess(fresh_chain.anvil.port)
        replacement.start()
        try:
            w3 = fresh_chain.anvil.web3()
            assert deploy_suite(w3, DEPLOYER_KEY) == fresh_chain.deployment
            create_subscriptions(w3, fresh_chain.deployment, DEPLOYER_KEY, 3, period=77,
                                 frequency=4)
            assert w3.eth.block_number < old_head
            harness.log.wait_for(lambda log: bool(log.all(Rewound)), what="Rewound")
            wait_until(lambda: harness.status().highest_id == 3
                       and harness.status().cursor_block == w3.eth.block_number, 20,
                       "a sync of the new chain")
            # No stored block is on the new chain: everything is forgotten and synced again.
            assert harness.log.all(Rewound)[0].to_block == 0
            latest = harness.log.subscriptions()
            assert [(latest[i].period, latest[i].frequency) for i in (1, 2, 3)] == [(77, 4)] * 3
            assert harness.status().tracked == 3
            assert not harness.failures
        finally:
            replacement.stop()
