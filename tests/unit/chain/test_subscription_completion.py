"""The completion rule on its own: chain time and the last interval's claim decide it,
and nothing is looked up that the chain time settles already."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from node.chain.subscription import ZERO_ADDRESS, Subscription
from node.chain.subscription_completion import completion_reason
from node.store.claim_store import Claim, ClaimState

START = 1_000


def sub(*, period: int, frequency: int) -> Subscription:
    return Subscription(id=1, owner="0x" + "ab" * 20, active_at=START, period=period,
                        frequency=frequency, redundancy=1, container_id=b"\x00" * 32,
                        lazy=False, verifier=ZERO_ADDRESS, payment_amount=0,
                        payment_token=ZERO_ADDRESS, wallet=ZERO_ADDRESS)


def claim(interval: int, state: ClaimState) -> Claim:
    return Claim(key=f"sub:1:{interval}", sub_key="sub:1", interval=interval, state=state,
                 attempts=1)


def never() -> Callable[[], Any]:
    def fail() -> Any:
        raise AssertionError("looked up, though chain time settles it")
    return fail


def test_before_the_last_interval_nothing_is_looked_up() -> None:
    recurring = sub(period=100, frequency=3)
    assert completion_reason(recurring, START - 1, has_open_claim=never(),
                             last_claim=never()) is None
    assert completion_reason(recurring, START + 150, has_open_claim=never(),
                             last_claim=never()) is None


def test_past_the_last_interval_it_is_complete_unless_a_claim_is_open() -> None:
    recurring = sub(period=100, frequency=2)
    past = START + 250
    assert completion_reason(recurring, past, has_open_claim=lambda: False,
                             last_claim=never()) == "past its last interval"
    assert completion_reason(recurring, past, has_open_claim=lambda: True,
                             last_claim=never()) is None


@pytest.mark.parametrize(("state", "reason"), [
    ("delivered", "last interval delivered"), ("skipped", "last interval skipped"),
    ("failed", "last interval failed"), ("claimed", None), ("retry", None)])
def test_in_the_last_interval_its_claim_decides(state: ClaimState, reason: str | None) -> None:
    callback = sub(period=0, frequency=5)  # a callback's last interval is 1
    asked: list[int] = []

    def last() -> Claim:
        asked.append(callback.last_interval)
        return claim(1, state)

    assert completion_reason(callback, START + 10, has_open_claim=lambda: False,
                             last_claim=last) == reason
    assert asked == [1]


def test_with_no_claim_of_its_last_interval_it_is_not_complete() -> None:
    assert completion_reason(sub(period=100, frequency=2), START + 150,
                             has_open_claim=lambda: False, last_claim=lambda: None) is None
