"""The chain sync's retry schedule: doubling, cap, retry_after, reset, log once per state."""

from __future__ import annotations

import logging

import pytest

from node.chain.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_delay_doubles_from_first_up_to_the_cap() -> None:
    backoff = Backoff(FakeClock(), first=0.5, cap=3.0)
    delays = [backoff.failed("unavailable", "down") for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.failures == 5


def test_waits_until_the_delay_has_passed() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, first=1.0, cap=10.0)
    assert not backoff.waiting()
    backoff.failed("unavailable", "down")
    assert backoff.waiting()
    clock.now += 0.99
    assert backoff.waiting()
    clock.now += 0.01
    assert not backoff.waiting()


def test_a_longer_retry_after_wins_without_changing_the_doubling() -> None:
    backoff = Backoff(FakeClock(), first=0.5, cap=30.0)
    assert backoff.failed("rate_limited", "429", retry_after=4.0) == 4.0
    assert backoff.failed("rate_limited", "429", retry_after=0.1) == 1.0


def test_success_resets_the_schedule() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, first=0.5, cap=30.0)
    backoff.failed("unavailable", "down")
    backoff.failed("unavailable", "down")
    backoff.succeeded()
    assert backoff.failures == 0
    assert not backoff.waiting()
    assert backoff.failed("unavailable", "down") == 0.5


def test_logs_once_per_change_of_state(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    backoff = Backoff(clock, first=0.5, cap=30.0)
    with caplog.at_level(logging.INFO, logger="node.chain.backoff"):
        backoff.failed("unavailable", "down")
        backoff.failed("unavailable", "down")
        backoff.failed("rate_limited", "429")
        clock.now += 7.0
        backoff.succeeded()
        backoff.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["chain sync failing, backing off", "chain sync failing, backing off",
                        "chain sync recovered"]
    recovered = caplog.records[-1]
    assert recovered.failures == 3  # type: ignore[attr-defined]
    assert recovered.down_for == 7.0  # type: ignore[attr-defined]
