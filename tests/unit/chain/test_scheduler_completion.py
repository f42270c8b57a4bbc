"""The scheduler forgets a subscription once it will never act on it again: its claims
close and the poller is told to stop replaying it. One it could still act on stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.chain_scheduler import POLLER
from node.chain.poller_messages import (
    ChainHead,
    ForgetSubscriptions,
    IntervalFulfilled,
    Rewound,
    SubscriptionsSeen,
)
from node.chain.scheduler_messages import SchedulerReport, SchedulerStatus
from node.chain.subscription import Subscription
from node.chain.wallet_messages import SendTransaction, TransactionOutcome
from node.messages import ContainerError, ContainerOutput, JobFinished, SubmitChainJob
from node.store.chain_db import ChainDb
from tests.unit.store.store_contract import FakeClock
from tests.unit.test_chain_scheduler_prune import CHAIN_NOW, NODE, Node, Recorder, subscription

OTHER_NODE = "0x" + "ee" * 20


class Scheduler(Node):
    """The prune test's scheduler, with a recorder standing in for the poller."""

    def __init__(self, db: ChainDb, clock: FakeClock) -> None:
        super().__init__(db, clock)
        self.poller: list[Any] = []
        self.refs.append(Recorder.start(self.poller))
        self.directory.register(POLLER, self.refs[-1])

    def report(self) -> SchedulerReport:
        assert self.scheduler is not None
        report = self.scheduler.ask(SchedulerStatus(), timeout=10)
        assert isinstance(report, SchedulerReport)
        return report

    def forgotten(self) -> list[int]:
        return [i for m in self.poller if isinstance(m, ForgetSubscriptions) for i in m.sub_ids]

    def closes_at(self, sub_id: int, interval: int) -> int | None:
        claim = self.claims.get(f"sub:{sub_id}:{interval}")
        assert claim is not None
        return claim.closes_at


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Scheduler]:
    db = ChainDb(str(tmp_path / "chain.sqlite3"))
    node = Scheduler(db, FakeClock())
    yield node
    node.close()


def seen(node: Node, *subs: Subscription, at: int = CHAIN_NOW, created: bool = False) -> None:
    node.tell(SubscriptionsSeen(subs, 100, at, snapshot=not created, created=created),
              ChainHead(100, at, synced=True))


def callback(sub_id: int, **kw: Any) -> Subscription:
    return subscription(sub_id, period=0, frequency=1, active_at=CHAIN_NOW - 10, **kw)


def run_job_and_deliver(node: Node, outcome: str = "mined") -> None:
    job = [m for m in node.router if isinstance(m, SubmitChainJob)][-1].spec
    node.tell(JobFinished(job.id, ContainerOutput("c1", msgspec.Raw(b'{"a": 1}'))))
    send = [m for m in node.wallet if isinstance(m, SendTransaction)][-1]
    node.tell(TransactionOutcome(key=send.key, status=outcome,  # type: ignore[arg-type]
                                 tx_hash="0x01", block_number=101, gas_used=1, error=None,
                                 revert_name=None, revert_class=None))


def started(node: Node, sub: Subscription) -> None:
    """``sub`` heard, due at once and its job started (nobody delivered it yet)."""
    node.rpc.counts = [0]
    node.start()
    seen(node, sub)


def test_a_callback_this_node_delivered_is_forgotten(node: Scheduler) -> None:
    started(node, callback(1))
    assert node.report().tracked == 1 and node.forgotten() == []
    run_job_and_deliver(node)
    assert node.state(1, 1) == "delivered"
    assert node.report().tracked == 0
    assert node.forgotten() == [1]
    assert node.closes_at(1, 1) == CHAIN_NOW  # prunable after the retention from now on


def test_a_callback_with_redundancy_left_is_forgotten_once_this_node_delivered(
        node: Scheduler) -> None:
    node.rpc.counts = [0]
    node.start()
    seen(node, msgspec.structs.replace(callback(2), redundancy=3))
    # Another node delivering does not finish it for this one.
    node.tell(IntervalFulfilled(2, OTHER_NODE, 101, CHAIN_NOW + 1))
    assert node.report().tracked == 1 and node.forgotten() == []
    # This node's delivery seen in the logs while its job still runs: nothing more to do.
    node.tell(IntervalFulfilled(2, NODE, 102, CHAIN_NOW + 2))
    assert node.report().tracked == 0 and node.forgotten() == [2]


def test_a_callback_whose_redundancy_was_met_is_forgotten_without_a_job(
        node: Scheduler) -> None:
    node.rpc.counts = [1]  # read when due: full already
    node.start()
    seen(node, callback(3))
    assert node.state(3, 1) == "skipped" and node.router == []
    assert node.report().tracked == 0 and node.forgotten() == [3]


def test_a_callback_of_frequency_two_is_complete_after_its_one_interval(
        node: Scheduler) -> None:
    node.rpc.counts = [1]
    node.start()
    seen(node, msgspec.structs.replace(callback(4), frequency=2))
    assert node.forgotten() == [4]


def test_a_replayed_complete_callback_is_forgotten_with_no_chain_read(
        node: Scheduler) -> None:
    node.rpc.counts = [1]
    node.start()
    seen(node, callback(5))
    node.stop()  # a restart whose poller never heard (it was restarting)
    node.poller.clear()
    node.rpc.calls.clear()
    node.start()
    seen(node, callback(5), at=CHAIN_NOW + 60)
    assert node.rpc.calls == [] and node.router == []
    assert node.report().tracked == 0 and node.forgotten() == [5]


def test_a_callback_still_running_is_kept(node: Scheduler) -> None:
    started(node, callback(6))
    run_job_and_deliver(node, outcome="failed")  # retried later: the claim stays open
    assert node.state(6, 1) == "retry"
    assert node.report().tracked == 1 and node.forgotten() == []


def test_a_recurring_subscription_goes_after_its_last_interval_settles(
        node: Scheduler) -> None:
    started(node, subscription(7, period=100, frequency=2, active_at=CHAIN_NOW))
    run_job_and_deliver(node)
    assert node.state(7, 1) == "delivered" and node.forgotten() == []  # interval 2 to come
    node.tell(ChainHead(101, CHAIN_NOW + 100, synced=True))
    assert node.report().tracked == 1
    run_job_and_deliver(node)
    assert node.state(7, 2) == "delivered"
    assert node.report().tracked == 0 and node.forgotten() == [7]


def test_a_recurring_subscription_past_its_last_interval_waits_for_its_open_claim(
        node: Scheduler) -> None:
    started(node, subscription(8, period=100, frequency=1, active_at=CHAIN_NOW))
    node.tell(ChainHead(101, CHAIN_NOW + 150, synced=True))  # past it, its job still runs
    assert node.report().tracked == 1 and node.forgotten() == []
    job = [m for m in node.router if isinstance(m, SubmitChainJob)][-1].spec
    node.tell(JobFinished(job.id, ContainerError("c1", "boom")))  # retried, then...
    assert node.state(8, 1) == "retry" and node.forgotten() == []
    node.clock.now += 3600
    node.tell(ChainHead(102, CHAIN_NOW + 151, synced=True))  # ...the interval passed
    assert node.state(8, 1) == "failed"
    assert node.report().tracked == 0 and node.forgotten() == [8]


def test_a_recurring_subscription_long_over_is_forgotten_when_heard(node: Scheduler) -> None:
    node.start()
    seen(node, subscription(9, period=100, frequency=3, active_at=CHAIN_NOW - 1000))
    assert node.rpc.calls == [] and node.forgotten() == [9]


def test_the_poller_hears_the_block_a_completion_was_decided_at(node: Scheduler) -> None:
    started(node, callback(10))  # heard at block 100
    node.tell(Rewound(90))  # a reorg: what came after block 90 may be gone
    run_job_and_deliver(node)
    told = [m for m in node.poller if isinstance(m, ForgetSubscriptions)]
    assert [(m.sub_ids, m.block) for m in told] == [((10,), 90)]
