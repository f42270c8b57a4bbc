"""The scheduler's pure due-work decisions: which interval is current, what one batch
reads, how its answers split back per interval, and what they mean."""

from __future__ import annotations

from typing import Any

import pytest

from node.chain import contracts
from node.chain.due_work import (
    CurrentInterval,
    DueInterval,
    NotActiveYet,
    PastLastInterval,
    TrackedSubscription,
    Verdict,
    answers_per_interval,
    batch_reads,
    current_interval,
    decide,
    first_wake,
    interval_reads,
    reads_per_interval,
)
from node.chain.rpc_types import RpcError
from node.chain.subscription import ZERO_ADDRESS, Subscription

START = 1_000
OWNER = "0x" + "ab" * 20
TOKEN = "0x" + "cd" * 20
WALLET = "0x" + "ef" * 20
NODE = "0x" + "12" * 20
FACTORY = "0x" + "34" * 20


def sub(sub_id: int = 1, *, period: int = 100, frequency: int = 3, redundancy: int = 2,
        amount: int = 0, token: str = ZERO_ADDRESS) -> Subscription:
    return Subscription(id=sub_id, owner=OWNER, active_at=START, period=period,
                        frequency=frequency, redundancy=redundancy,
                        container_id=b"\x00" * 32, lazy=False, verifier=ZERO_ADDRESS,
                        payment_amount=amount, payment_token=token, wallet=WALLET)


def due(s: Subscription, interval: int = 1) -> DueInterval:
    return DueInterval(TrackedSubscription(s, ("c1",)), interval, 0)


def no_eth() -> int:
    raise AssertionError("the ETH balance was read, though not needed")


class NoRpc:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name}: building calls must not touch the chain")


def test_where_a_subscription_stands() -> None:
    recurring = sub(frequency=3)
    assert current_interval(recurring, START - 1) == NotActiveYet(START)
    assert current_interval(recurring, START + 150) == CurrentInterval(2, START + 200)
    assert current_interval(recurring, START + 250) == CurrentInterval(3, None)  # the last
    assert current_interval(recurring, START + 300) == PastLastInterval()
    assert current_interval(sub(period=0, frequency=1), START + 5) == CurrentInterval(1, None)
    assert first_wake(recurring, START - 50) == START
    assert first_wake(recurring, START + 42) == START + 42


@pytest.mark.parametrize("s", [sub(), sub(amount=5), sub(amount=5, token=TOKEN)])
def test_the_width_said_is_the_number_of_calls_made(s: Subscription) -> None:
    calls = interval_reads(s, 1, chain_time=START, node=NODE, wallet_factory=FACTORY)
    assert len(calls) == reads_per_interval(s)
    assert calls[0].to == OWNER


def test_only_counts_not_known_are_read_and_answers_split_back() -> None:
    reader = contracts.Reader(NoRpc(), FACTORY)  # type: ignore[arg-type]
    items = [due(sub(1)), due(sub(2, amount=5, token=TOKEN), 2), due(sub(3, amount=5), 3)]
    known = [None, 1, None]
    calls = batch_reads(items, known, reader, chain_time=START, node=NODE,
                        wallet_factory=FACTORY)
    assert len(calls) == 1 + 1 + 3 + 2
    assert calls[0].pair == reader.read_redundancy_count_batch_call([1, 3], [1, 3]).pair
    answers = [[0, 4], b"in1", b"in2", True, 9, b"in3", False]
    assert answers_per_interval(items, known, answers) == [
        [0, b"in1"], [1, b"in2", True, 9], [4, b"in3", False]]


def test_with_every_count_known_no_reader_call_is_made() -> None:
    reader = contracts.Reader(NoRpc(), FACTORY)  # type: ignore[arg-type]
    items = [due(sub(1)), due(sub(2))]
    calls = batch_reads(items, [0, 1], reader, chain_time=START, node=NODE,
                        wallet_factory=FACTORY)
    assert [c.to for c in calls] == [OWNER, OWNER]
    assert answers_per_interval(items, [0, 1], [b"a", b"b"]) == [[0, b"a"], [1, b"b"]]


def test_a_failed_count_read_reaches_every_interval_that_needed_it() -> None:
    error = RpcError("unavailable", "down")
    items = [due(sub(1)), due(sub(2)), due(sub(3))]
    split = answers_per_interval(items, [None, 2, None], [error, b"a", b"b", b"c"])
    assert split == [[error, b"a"], [2, b"b"], [error, b"c"]]


def test_what_the_answers_mean() -> None:
    error = RpcError("revert", "reverted")
    free = sub(redundancy=2)
    assert decide(free, [error, b""], no_eth).verdict is Verdict.RECHECK
    assert decide(free, [2, b""], no_eth).verdict is Verdict.SKIP
    started = decide(free, [1, b"\x01\x02"], no_eth)
    assert started.verdict is Verdict.START and started.inputs == b"\x01\x02"
    reverted = decide(free, [0, error], no_eth)  # a consumer that reverts: empty input
    assert reverted.verdict is Verdict.START and reverted.inputs == b""


def test_a_paid_interval_needs_a_valid_funded_wallet() -> None:
    token = sub(amount=5, token=TOKEN)
    assert decide(token, [0, b"", False, 10], no_eth).verdict is Verdict.INVALID_WALLET
    assert decide(token, [0, b"", True, 4], no_eth).verdict is Verdict.UNDERFUNDED
    assert decide(token, [0, b"", True, RpcError("revert", "x")],
                  no_eth).verdict is Verdict.UNDERFUNDED
    assert decide(token, [0, b"", True, 5], no_eth).verdict is Verdict.START


def test_an_eth_payment_reads_the_balance_and_an_unknown_one_lets_it_run() -> None:
    eth = sub(amount=5)
    assert decide(eth, [0, b"", True], lambda: 4).verdict is Verdict.UNDERFUNDED
    assert decide(eth, [0, b"", True], lambda: 5).verdict is Verdict.START

    def down() -> int:
        raise RpcError("unavailable", "down")

    assert decide(eth, [0, b"", True], down).verdict is Verdict.START
