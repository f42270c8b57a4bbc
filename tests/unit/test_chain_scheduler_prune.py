"""The chain scheduler prunes settled claims only once nothing can look them up, and a
scheduler restarted after pruning neither re-runs an interval nor sends a new delivery
key: it reads no chain state for settled intervals and re-asks the wallet for the same
key of a claim that was open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pykka
import pytest
from eth_abi.abi import encode as abi_encode

from actors.base import ChildContext
from actors.board import Board
from actors.chain_scheduler import (
    PRUNE_EVERY,
    SCHEDULER,
    WALLET,
    ChainSchedulerActor,
    SchedulerStatus,
    wallet_keys_in_use,
)
from actors.directory import Directory
from actors.router import ROUTER
from node.chain.container_ids import ContainerIdResolver, container_id_hash
from node.chain.delegation import ClaimPayload, DelegatedRequest, encode_payload
from node.chain.poller_messages import ChainHead, SubscriptionCancelled, SubscriptionsSeen
from node.chain.rpc_types import RpcError
from node.chain.scheduler_messages import TrackDelegated
from node.chain.subscription import CANCELLED_ACTIVE_AT, ZERO_ADDRESS, Subscription
from node.chain.wallet_messages import SendTransaction
from node.guardian import ContainerRules, GuardianRules
from node.messages import ChildFailed
from node.store.chain_db import ChainDb
from node.store.claim_store import Claim, ClaimState, ClaimStore
from tests.unit.store.store_contract import FakeClock

DAY = 86_400
RETENTION = 7.0 * DAY
CHAIN_NOW = 1_800_000_000
NODE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OWNER = "0x" + "ab" * 20
CONTRACT = "0x" + "cd" * 20
PERIODIC = 5  # period 10 days, 3 intervals: interval 3 is the current one
CALLBACK = 6  # its claim is open (delivering) when the scheduler starts
CANCELLED = 7  # a callback subscription, delivered long ago, cancelled now


class Recorder(pykka.ThreadingActor):
    use_daemon_thread = True

    def __init__(self, seen: list[Any]) -> None:
        super().__init__()
        self._seen = seen

    def on_receive(self, message: Any) -> Any:
        if message is not None:  # None: a barrier
            self._seen.append(message)
        return None


class RecordingRpc:
    """Any chain read is recorded and fails (a settled interval must need none), except
    a batch, when ``counts`` is set: redundancy counts, then empty consumer inputs."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.counts: list[int] | None = None

    def batch_call(self, calls: list[tuple[str, bytes]], **kwargs: Any) -> list[Any]:
        self.calls.append("batch_call")
        if self.counts is None:
            raise RpcError("unavailable", "batch_call: not in this test")
        return [abi_encode(["uint16[]"], [self.counts]),
                *[abi_encode(["bytes"], [b""])] * (len(calls) - 1)]

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise RpcError("unavailable", f"{name}: not in this test")
        return call


def subscription(sub_id: int, *, period: int, frequency: int, active_at: int) -> Subscription:
    return Subscription(id=sub_id, owner=OWNER, active_at=active_at, period=period,
                        frequency=frequency, redundancy=1,
                        container_id=container_id_hash(["c1"]), lazy=False,
                        verifier=ZERO_ADDRESS, payment_amount=0, payment_token=ZERO_ADDRESS,
                        wallet=ZERO_ADDRESS)


SUBS = (subscription(PERIODIC, period=10 * DAY, frequency=3, active_at=CHAIN_NOW - 25 * DAY),
        subscription(CALLBACK, period=0, frequency=1, active_at=CHAIN_NOW - 30 * DAY),
        subscription(CANCELLED, period=0, frequency=1, active_at=CHAIN_NOW - 30 * DAY))
# As the poller tells it after the cancellation.
AFTER_CANCEL = (*SUBS[:2], msgspec.structs.replace(SUBS[2], active_at=CANCELLED_ACTIVE_AT))
RULES = GuardianRules(
    containers={"c1": ContainerRules(external=True, generates_proofs=False,
                                     allowed_networks=(), allowed_addresses=frozenset(),
                                     allowed_delegate_addresses=frozenset(),
                                     accepted_payments={})},
    chain_enabled=True, has_payment_address=False)


class Node:
    """A scheduler with recorders for the router and the wallet, restartable."""

    def __init__(self, db: ChainDb, clock: FakeClock) -> None:
        self.db, self.clock = db, clock
        self.directory = Directory()
        self.router: list[Any] = []
        self.wallet: list[Any] = []
        self.failures: list[ChildFailed] = []
        self.rpc = RecordingRpc()
        self.claims = ClaimStore(db, clock=clock)
        self.refs = [Recorder.start(self.router), Recorder.start(self.wallet)]
        self.directory.register(ROUTER, self.refs[0])
        self.directory.register(WALLET, self.refs[1])
        self.scheduler: pykka.ActorRef[Any] | None = None

    def start(self, retention: float | None = RETENTION) -> None:
        self.scheduler = ChainSchedulerActor.start(
            ChildContext(SCHEDULER, 1, self.directory, self.failures.append),
            rpc=self.rpc, coordinator=CONTRACT, reader=CONTRACT, wallet_factory=CONTRACT,
            node_address=NODE, payment_address=None, rules=RULES,
            resolver=ContainerIdResolver(["c1"]), claims=self.claims, jobs=None,  # type: ignore[arg-type]
            board=Board(), tick_every=3600.0, retention=retention, clock=self.clock)
        self.directory.register(SCHEDULER, self.scheduler)

    def stop(self) -> None:
        assert self.scheduler is not None
        self.scheduler.stop(timeout=10)

    def close(self) -> None:
        if self.scheduler is not None and self.scheduler.is_alive():
            self.stop()
        for ref in self.refs:
            ref.stop()
        self.db.close()

    def tell(self, *messages: Any) -> None:
        assert self.scheduler is not None
        for message in messages:
            self.scheduler.tell(message)
        self.scheduler.ask(SchedulerStatus(), timeout=10)  # a barrier
        for ref in self.refs:
            ref.ask(None, timeout=10)  # so are these: what was told has landed
        assert not self.failures, self.failures

    def state(self, sub_id: int, interval: int) -> str | None:
        claim = self.claims.get(f"sub:{sub_id}:{interval}")
        return None if claim is None else claim.state


def seed(db: ChainDb, settled_at: float) -> None:
    old = ClaimStore(db, clock=lambda: settled_at)

    def put(sub_id: int, interval: int, state: ClaimState, closes_at: int | None,
            payload: bytes | None = None) -> None:
        old.put(Claim(key=f"sub:{sub_id}:{interval}", sub_key=f"sub:{sub_id}",
                      interval=interval, state=state, attempts=1, payload=payload,
                      closes_at=closes_at))

    for interval in (1, 2, 3):
        put(PERIODIC, interval, "delivered", SUBS[0].interval_end(interval))
    put(CALLBACK, 1, "delivering", None,
        encode_payload(ClaimPayload(calldata=b"\x01call", tx_key=f"sub:{CALLBACK}:1/1")))
    put(CANCELLED, 1, "delivered", None)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    db = ChainDb(str(tmp_path / "chain.sqlite3"))
    clock = FakeClock()
    clock.now = 1_000_000_000.0  # local time, well behind the chain's in this test
    seed(db, settled_at=clock.now - RETENTION - 60)
    node = Node(db, clock)
    yield node
    node.close()


def heard(node: Node, chain_time: int, subs: tuple[Subscription, ...] = SUBS) -> None:
    node.tell(SubscriptionsSeen(subs, 100, chain_time, snapshot=True),
              ChainHead(100, chain_time, synced=True))


def test_claims_go_only_when_unreachable_and_a_restart_reruns_and_resends_nothing(
        node: Node) -> None:
    node.start()
    heard(node, CHAIN_NOW)
    # Interval 1 closed 15 days ago: gone. Interval 2 closed 5 days ago (< retention) and
    # interval 3 is current: both stay; so do the open claim and the live callback's.
    assert [node.state(PERIODIC, i) for i in (1, 2, 3)] == [None, "delivered", "delivered"]
    assert node.state(CALLBACK, 1) == "delivering"
    assert node.state(CANCELLED, 1) == "delivered"
    assert [m.key for m in node.wallet if isinstance(m, SendTransaction)] == \
        [f"sub:{CALLBACK}:1/1"]  # the open claim's own key, from the restart
    assert wallet_keys_in_use(node.claims, [f"sub:{CALLBACK}:1/1", f"sub:{PERIODIC}:3/1",
                                            f"sub:{CALLBACK}:1/1/approve"]) == \
        {f"sub:{CALLBACK}:1/1", f"sub:{CALLBACK}:1/1/approve"}

    node.stop()  # a restart after pruning
    node.wallet.clear()
    node.clock.now += 60
    node.start()
    heard(node, CHAIN_NOW + 3600)
    assert node.router == [] and node.rpc.calls == []  # nothing re-run, nothing read
    assert [m.key for m in node.wallet if isinstance(m, SendTransaction)] == \
        [f"sub:{CALLBACK}:1/1"]  # the same key again: the wallet answers it from its store

    # A cancelled subscription's claims become unreachable from the cancellation on.
    node.tell(SubscriptionCancelled(CANCELLED, 101))
    later = CHAIN_NOW + 7 * DAY + 3600
    node.clock.now += PRUNE_EVERY  # the next run is due
    heard(node, later, AFTER_CANCEL)
    assert node.state(CANCELLED, 1) is None
    assert node.state(PERIODIC, 2) is None  # closed for longer than the retention now
    # Its last interval was settled when first heard (CHAIN_NOW): complete, and its claims
    # closed then, more than the retention ago (the poller no longer replays it).
    assert node.state(PERIODIC, 3) is None
    assert node.state(CALLBACK, 1) == "delivering"  # open claims never go
    assert node.router == [] and node.rpc.calls == []


def test_pruning_waits_for_its_period(node: Node) -> None:
    node.start()
    heard(node, CHAIN_NOW)
    node.tell(SubscriptionCancelled(CANCELLED, 101))
    heard(node, CHAIN_NOW + 8 * DAY, AFTER_CANCEL)  # prunable, but the last run was just now
    assert node.state(CANCELLED, 1) == "delivered"
    node.clock.now += PRUNE_EVERY
    heard(node, CHAIN_NOW + 8 * DAY, AFTER_CANCEL)
    assert node.state(CANCELLED, 1) is None


def test_without_a_retention_nothing_is_pruned(node: Node) -> None:
    node.start(retention=None)
    node.tell(SubscriptionCancelled(CANCELLED, 101))
    heard(node, CHAIN_NOW + 30 * DAY)
    assert [node.state(PERIODIC, i) for i in (1, 2, 3)] == ["delivered"] * 3
    assert node.state(CANCELLED, 1) == "delivered"


def test_the_claims_it_writes_say_when_their_interval_closes(node: Node) -> None:
    hourly = subscription(8, period=3600, frequency=1000, active_at=CHAIN_NOW - 10 * 3600)
    node.rpc.counts = [1]  # the interval is full already: skipped, with no job
    node.start()
    node.tell(SubscriptionsSeen((hourly,), 100, CHAIN_NOW, snapshot=True),
              ChainHead(100, CHAIN_NOW, synced=True))
    skipped = node.claims.get("sub:8:11")
    assert skipped is not None and skipped.state == "skipped" and node.router == []
    assert skipped.closes_at == hourly.interval_end(11) == CHAIN_NOW + 3600

    delegated = DelegatedRequest(
        job_id="job-1", client="client", containers=("c1",), nonce=3,
        expiry=CHAIN_NOW + 600, v=27, r=1, s=2,
        subscription=subscription(0, period=3600, frequency=5, active_at=CHAIN_NOW - 60))
    assert node.scheduler is not None
    assert node.scheduler.ask(TrackDelegated(delegated), timeout=10) is True
    claim = node.claims.get(f"{delegated.sub_key}:1")
    assert claim is not None and claim.closes_at == CHAIN_NOW + 600  # expiry < interval end
    callback = msgspec.structs.replace(delegated, job_id="job-2", nonce=4,
                                       subscription=SUBS[1])
    assert node.scheduler.ask(TrackDelegated(callback), timeout=10) is True
    claim = node.claims.get(f"{callback.sub_key}:1")
    assert claim is not None and claim.closes_at == CHAIN_NOW + 600  # only the expiry
