"""When a tracked subscription's interval is due, what must be read for it, and what
the answers mean.

The chain scheduler wakes a subscription at the chain time its next interval
opens rather than re-reading every subscription every cycle; when intervals fall
due it reads what it must know for all of them in one batched RPC request. The
decisions around that request — which interval is current, when to wake next,
which calls go in the batch, how the flat list of answers splits back per
interval, and what a redundancy count, inputs and payment wallet answer mean —
are pure, and live here so the actor only holds state, sends and reads.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from node.chain import contracts
from node.chain.rpc_types import RpcError
from node.chain.subscription import Subscription


@dataclass
class TrackedSubscription:
    """A subscription the scheduler acts on, with the containers its id resolved to."""

    sub: Subscription
    containers: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"sub:{self.sub.id}"


@dataclass(frozen=True)
class DueInterval:
    """An interval to check now; ``attempts``: how many times it ran already."""

    tracked: TrackedSubscription
    interval: int
    attempts: int


@dataclass(frozen=True)
class NotActiveYet:
    """Wake again at ``wake_at`` (the subscription's ``active_at``)."""

    wake_at: int


@dataclass(frozen=True)
class PastLastInterval:
    """No interval is left to run; only an open claim may still keep it."""


@dataclass(frozen=True)
class CurrentInterval:
    """``interval`` is current; wake again at ``next_wake`` (None: no later interval)."""

    interval: int
    next_wake: int | None


def first_wake(sub: Subscription, chain_time: int) -> int:
    """The chain time to look at a newly heard subscription: now, or when it activates."""
    return sub.active_at if not sub.active(chain_time) else chain_time


def current_interval(sub: Subscription,
                     now: int) -> NotActiveYet | PastLastInterval | CurrentInterval:
    """Where ``sub`` stands at chain time ``now``."""
    if not sub.active(now):
        return NotActiveYet(sub.active_at)
    interval = sub.interval(now)
    if interval > sub.frequency:
        return PastLastInterval()
    end = sub.interval_end(interval)
    next_wake = end if end is not None and interval < sub.frequency else None
    return CurrentInterval(interval, next_wake)


def reads_per_interval(sub: Subscription) -> int:
    """How many answers ``interval_reads`` asks for ``sub``: the consumer's inputs, then,
    when paid, the wallet's validity and (an ERC-20 payment) its token balance."""
    if not sub.paid:
        return 1
    return 2 if _pays_in_eth(sub) else 3


def interval_reads(sub: Subscription, interval: int, *, chain_time: int, node: str,
                   wallet_factory: str) -> list[contracts.PreparedCall[Any]]:
    """The calls one due interval needs besides its redundancy count."""
    calls: list[contracts.PreparedCall[Any]] = [
        contracts.consumer_inputs_call(sub.owner, sub.id, interval, chain_time, node)]
    if sub.paid:
        calls.append(contracts.is_valid_wallet_call(wallet_factory, sub.wallet))
        if not _pays_in_eth(sub):
            calls.append(contracts.token_balance_call(sub.payment_token, sub.wallet))
    return calls


def batch_reads(due: Sequence[DueInterval], known: Sequence[int | None],
                reader: contracts.Reader, *, chain_time: int, node: str,
                wallet_factory: str) -> list[contracts.PreparedCall[Any]]:
    """One request for every due interval: the redundancy counts not ``known`` already
    (one Reader call, first), then each interval's ``interval_reads``. Whether this node
    answered already is known from its claims; were they lost, the delivery's
    simulation says NodeRespondedAlready."""
    unknown = [d for d, count in zip(due, known, strict=True) if count is None]
    calls: list[contracts.PreparedCall[Any]] = []
    if unknown:
        calls.append(reader.read_redundancy_count_batch_call(
            [d.tracked.sub.id for d in unknown], [d.interval for d in unknown]))
    for item in due:
        calls.extend(interval_reads(item.tracked.sub, item.interval, chain_time=chain_time,
                                    node=node, wallet_factory=wallet_factory))
    return calls


def answers_per_interval(due: Sequence[DueInterval], known: Sequence[int | None],
                         answers: Sequence[Any]) -> list[list[Any]]:
    """``batch_reads``' answers split back per due interval: its redundancy count (the
    known one, or its share of the Reader's answer, or that answer's RpcError), then
    its ``interval_reads`` answers."""
    has_unknown = any(count is None for count in known)
    read = answers[0] if has_unknown else []
    position = 1 if has_unknown else 0
    index = 0
    split: list[list[Any]] = []
    for item, count in zip(due, known, strict=True):
        width = reads_per_interval(item.tracked.sub)
        answer: Any = count
        if count is None:
            answer = read if isinstance(read, RpcError) else read[index]
            index += 1
        split.append([answer, *answers[position:position + width]])
        position += width
    return split


class Verdict(enum.Enum):
    RECHECK = "recheck"  # the count could not be read: look again at the next second
    SKIP = "skip"  # the redundancy is met: nothing to run
    INVALID_WALLET = "invalid_wallet"  # the consumer wallet is not from the factory
    UNDERFUNDED = "underfunded"  # the wallet holds less than the payment (funds may come)
    START = "start"  # run the job on ``inputs``


@dataclass(frozen=True)
class DueDecision:
    verdict: Verdict
    inputs: bytes = b""


def decide(sub: Subscription, answers: Sequence[Any],
           eth_balance: Callable[[], int]) -> DueDecision:
    """What to do with a due interval of ``sub`` given its ``answers_per_interval`` entry.

    ``eth_balance`` reads the consumer wallet's ETH balance (ETH has no eth_call form to
    batch); it is only called for an ETH payment, and an RpcError from it leaves the
    decision to the delivery's simulation."""
    count, inputs = answers[0], answers[1]
    if isinstance(count, RpcError):
        return DueDecision(Verdict.RECHECK)
    if count >= sub.redundancy:
        return DueDecision(Verdict.SKIP)
    if sub.paid and answers[2] is not True:
        return DueDecision(Verdict.INVALID_WALLET)
    if sub.paid and not _funded(sub, answers, eth_balance):
        return DueDecision(Verdict.UNDERFUNDED)
    if isinstance(inputs, RpcError):
        inputs = b""  # a consumer that reverts gets an empty input (as the original)
    return DueDecision(Verdict.START, bytes(inputs))


def _pays_in_eth(sub: Subscription) -> bool:
    return int(sub.payment_token, 16) == 0


def _funded(sub: Subscription, answers: Sequence[Any], eth_balance: Callable[[], int]) -> bool:
    if not _pays_in_eth(sub):
        balance = answers[3]
    else:
        try:
            balance = eth_balance()
        except RpcError:
            return True  # unknown: let the delivery's simulation decide
    return isinstance(balance, int) and balance >= sub.payment_amount
