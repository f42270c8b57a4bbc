from __future__ import annotations

import logging
import threading
import time

import pytest

from node.stats.forwarder import ForwardPolicy, StatsForwarder, check_endpoint
from tests.unit.stats.sink import closed_port_url, http_sink
from tests.unit.stats.values import snapshot

FAST = ForwardPolicy(batch_size=3, buffer_size=100, timeout=1.0, backoff_first=0.02,
                     backoff_max=0.1)


def wait_until(predicate, timeout: float = 10.0) -> bool:
    # Polls a forwarder counter; the forwarder has no event for failed attempts.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        threading.Event().wait(0.01)
    return predicate()


def sequence(sink) -> list[int]:
    return [s["jobs"]["succeeded"] for s in sink.snapshots()]


def test_delivers_snapshots_in_order_with_node_id():
    with http_sink() as sink:
        fwd = StatsForwarder(sink.url, "node-a", FAST)
        try:
            for i in range(5):
                fwd.submit(snapshot(i))
            assert fwd.wait_sent(5, timeout=10)
        finally:
            fwd.close()
        assert sequence(sink) == [0, 1, 2, 3, 4]
        assert {b["node_id"] for b in sink.bodies} == {"node-a"}
        assert all(len(b["snapshots"]) <= 3 for b in sink.bodies)
        assert fwd.counts().sent == 5 and fwd.buffered() == 0


def test_backlog_goes_out_in_batches_after_the_endpoint_recovers(caplog):
    caplog.set_level(logging.INFO, logger="node.stats.forwarder")
    with http_sink() as sink:
        sink.status = 503
        fwd = StatsForwarder(sink.url, "node-a", FAST)
        try:
            for i in range(7):
                fwd.submit(snapshot(i))
            assert sink.wait_for(lambda s: s.failures >= 3)
            assert fwd.counts().sent == 0 and fwd.buffered() == 7
            with sink.cond:
                sink.status = 200
            assert fwd.wait_sent(7, timeout=10)
        finally:
            fwd.close()
        assert sequence(sink) == list(range(7))
        assert [len(b["snapshots"]) for b in sink.bodies] == [3, 3, 1]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_unreachable_endpoint_keeps_a_bounded_buffer_and_warns_once(caplog):
    caplog.set_level(logging.WARNING, logger="node.stats.forwarder")
    policy = ForwardPolicy(batch_size=2, buffer_size=5, timeout=0.5, backoff_first=0.01,
                           backoff_max=0.02)
    fwd = StatsForwarder(closed_port_url(), "node-a", policy)
    try:
        for i in range(8):
            fwd.submit(snapshot(i))
        assert wait_until(lambda: fwd.counts().failed_attempts >= 5)
        counts = fwd.counts()
        assert counts.dropped == 3 and counts.sent == 0
        assert fwd.buffered() == 5
    finally:
        started = time.monotonic()
        fwd.close(timeout=5)
        assert time.monotonic() - started < 5  # no final attempt against a known outage
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("buffer full" in m for m in messages) == 1


def test_oldest_snapshots_are_the_ones_dropped():
    with http_sink() as sink:
        sink.status = 503
        policy = ForwardPolicy(batch_size=10, buffer_size=4, timeout=1.0, backoff_first=0.02,
                               backoff_max=0.05)
        fwd = StatsForwarder(sink.url, "node-a", policy)
        try:
            for i in range(10):
                fwd.submit(snapshot(i))
            assert sink.wait_for(lambda s: s.failures >= 1)
            with sink.cond:
                sink.status = 200
            assert sink.wait_for(lambda s: len(s.snapshots()) >= 4)
        finally:
            fwd.close()
        assert sequence(sink) == [6, 7, 8, 9]
        assert fwd.counts().dropped == 6


def test_close_sends_what_is_buffered_when_the_endpoint_is_up():
    with http_sink() as sink:
        fwd = StatsForwarder(sink.url, "node-a", FAST)
        fwd.submit(snapshot(1))
        fwd.close(timeout=5)
        assert sequence(sink) == [1]


@pytest.mark.parametrize("url", ["ftp://example.org/x", "stats.example.org", "http:///x",
                                 "http://127.0.0.1:99999/x"])
def test_bad_endpoints_are_refused_naming_the_field(url):
    assert check_endpoint(url) is not None
    with pytest.raises(ValueError, match=r"stats\.endpoint"):
        StatsForwarder(url, "node-a", FAST)


def test_good_endpoint_passes_the_check():
    assert check_endpoint("https://stats.example.org:8443/in?token=x") is None


def test_warning_does_not_show_credentials_of_the_endpoint(caplog):
    caplog.set_level(logging.WARNING, logger="node.stats.forwarder")
    url = closed_port_url().replace("http://", "http://user:s3cret@") + "?token=t0ken"
    fwd = StatsForwarder(url, "node-a", FAST)
    try:
        fwd.submit(snapshot(1))
        assert wait_until(lambda: fwd.counts().failed_attempts >= 1)
    finally:
        fwd.close()
    [record] = [r for r in caplog.records if "unreachable" in r.getMessage()]
    shown = f"{record.getMessage()} {vars(record)}"
    assert "127.0.0.1" in shown and "s3cret" not in shown and "t0ken" not in shown
