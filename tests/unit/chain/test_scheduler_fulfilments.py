"""The scheduler's own count of who delivered an interval (used instead of reading the
redundancy count for subscriptions whose every log since creation it was told)."""

from __future__ import annotations

from node.chain.fulfilment_counts import FulfilmentCounts as _Fulfilments

NODE_A = "0x" + "aa" * 20
NODE_B = "0x" + "BB" * 20


def test_an_interval_nobody_delivered_counts_zero() -> None:
    assert _Fulfilments().count(1) == 0


def test_each_node_counts_once_whatever_its_case_and_repeats() -> None:
    counts = _Fulfilments()
    counts.add(1, NODE_A)
    counts.add(1, NODE_A.upper().replace("0X", "0x"))  # the poller may tell a log twice
    counts.add(1, NODE_B)
    counts.add(2, NODE_A)
    assert (counts.count(1), counts.count(2), counts.count(3)) == (2, 1, 0)


def test_intervals_dropped_to_bound_memory_are_unknown_again() -> None:
    counts = _Fulfilments()
    for interval in range(1, _Fulfilments.KEEP + 3):
        counts.add(interval, NODE_A)
    assert counts.count(1) is None and counts.count(2) is None
    assert counts.count(_Fulfilments.KEEP + 2) == 1
    assert counts.count(_Fulfilments.KEEP + 3) == 0
