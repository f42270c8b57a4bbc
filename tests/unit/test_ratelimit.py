import threading

import pytest

from node.ratelimit import RateLimiter, gcra


def test_fresh_key_allows_a_full_burst_then_refuses():
    tat, now = 0.0, 100.0
    remaining = []
    for _ in range(3):
        allowed, tat, retry, rem = gcra(tat, now, 1.0, 3)
        assert allowed and retry == 0.0
        remaining.append(rem)
    assert remaining == [2, 1, 0]
    allowed, new_tat, retry, rem = gcra(tat, now, 1.0, 3)
    assert not allowed and rem == 0
    assert new_tat == tat  # a refused request does not consume anything
    assert retry == pytest.approx(1.0)


def test_refill_follows_the_emission_interval():
    tat = 0.0
    for _ in range(2):
        _, tat, _, _ = gcra(tat, 0.0, 2.0, 2)
    assert not gcra(tat, 1.9, 2.0, 2).allowed
    res = gcra(tat, 2.0, 2.0, 2)
    assert res.allowed and res.remaining == 0


def test_idle_key_is_like_a_fresh_key():
    _, tat, _, _ = gcra(0.0, 0.0, 1.0, 5)
    assert gcra(tat, 1000.0, 1.0, 5) == gcra(0.0, 1000.0, 1.0, 5)


def test_gcra_rejects_nonsense_parameters():
    with pytest.raises(ValueError):
        gcra(0.0, 0.0, 0.0, 1)
    with pytest.raises(ValueError):
        gcra(0.0, 0.0, 1.0, 0)


def test_limiter_counts_per_key_and_reports_whole_seconds():
    lim = RateLimiter(2, 10)
    a1, a2, a3 = (lim.hit("a", 0.0) for _ in range(3))
    assert (a1.allowed, a2.allowed, a3.allowed) == (True, True, False)
    assert (a1.remaining, a2.remaining, a3.remaining) == (1, 0, 0)
    assert a1.limit == 2 and a1.reset == 5 and a2.reset == 10
    assert a3.retry_after == 5
    assert lim.hit("b", 0.0).allowed


def test_retry_after_is_at_least_one_second():
    lim = RateLimiter(100, 1)
    for _ in range(100):
        lim.hit("k", 0.0)
    refused = lim.hit("k", 0.0)
    assert not refused.allowed and refused.retry_after == 1


def test_limiter_memory_is_bounded_and_stale_keys_go_first():
    lim = RateLimiter(1, 1, max_keys=10)
    lim.hit("busy", 0.0)
    for i in range(50):
        lim.hit(i, float(i) / 100)
        assert len(lim) <= 10
    lim2 = RateLimiter(1, 100, max_keys=3)
    for i in range(3):
        lim2.hit(i, 0.0)
    lim2.hit("new", 200.0)  # all three old keys are stale by now
    assert len(lim2) == 1


def test_limiter_is_thread_safe():
    lim = RateLimiter(1000, 1000)
    allowed = []
    lock = threading.Lock()

    def worker():
        for _ in range(300):
            ok = lim.hit("k", 0.0).allowed
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sum(allowed) == 1000


def test_limiter_validates_arguments():
    with pytest.raises(ValueError):
        RateLimiter(0, 60)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)
