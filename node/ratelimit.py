"""Per-client request rate limiting with the generic cell rate algorithm (GCRA).

GCRA keeps one number per key, the theoretical arrival time (TAT) of the next
request, instead of a counter and a window: it smooths bursts exactly like a
token bucket that holds ``burst`` tokens and refills one every
``emission_interval`` seconds, with O(1) state.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple


class GcraResult(NamedTuple):
    allowed: bool
    new_tat: float
    retry_after: float
    remaining: int


def gcra(tat: float, now: float, emission_interval: float, burst: int) -> GcraResult:
    """Decide one request against a key whose theoretical arrival time is ``tat``.

    ``tat`` is 0 (or anything <= now) for a fresh key. Returns whether the request
    may proceed, the TAT to store, how long to wait before retrying (0 when allowed)
    and how many further requests would be allowed right now.
    """
    if emission_interval <= 0 or burst < 1:
        raise ValueError("emission_interval must be > 0 and burst >= 1")
    base = max(tat, now)
    new_tat = base + emission_interval
    # The earliest time at which a request that pushes TAT to new_tat fits into the burst.
    allow_at = new_tat - burst * emission_interval
    if now < allow_at:
        return GcraResult(False, tat, allow_at - now, 0)
    # Small epsilon so that float noise (e.g. 0.9999999) does not lose a whole request.
    remaining = int((now - allow_at) / emission_interval + 1e-9)
    return GcraResult(True, new_tat, 0.0, min(remaining, burst - 1))


class RateDecision(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the bucket is full again
    retry_after: int  # whole seconds (>= 1) to wait when refused, else 0


class RateLimiter:
    """A thread-safe keyed GCRA limiter: ``num_requests`` per ``period`` seconds per key.

    Memory is bounded by ``max_keys``: keys whose TAT lies in the past carry no
    information (they behave like fresh keys) and are dropped first; if that is not
    enough the least recently used key is forgotten, which only makes the limiter
    more lenient for that key.
    """

    def __init__(self, num_requests: int, period: float, max_keys: int = 100_000) -> None:
        if num_requests < 1 or period <= 0 or max_keys < 1:
            raise ValueError("num_requests and max_keys must be >= 1 and period > 0")
        self.limit = num_requests
        self.period = float(period)
        self.max_keys = max_keys
        self._interval = self.period / num_requests
        self._tats: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tats)

    def hit(self, key: Hashable, now: float) -> RateDecision:
        """Count one request for ``key`` at time ``now`` (seconds, monotonic)."""
        with self._lock:
            tat = self._tats.get(key, now)
            result = gcra(tat, now, self._interval, self.limit)
            if result.allowed:
                self._tats[key] = result.new_tat
                self._tats.move_to_end(key)
                if len(self._tats) > self.max_keys:
                    self._evict(now)
        stored_tat = result.new_tat if result.allowed else tat
        reset = max(0, math.ceil(stored_tat - now - 1e-9))
        retry = max(1, math.ceil(result.retry_after - 1e-9)) if not result.allowed else 0
        return RateDecision(result.allowed, self.limit, result.remaining, reset, retry)

    def _evict(self, now: float) -> None:
        # Shrink to 90% so that the O(n) sweep runs once per n/10 new keys, not per key.
        target = max(1, self.max_keys * 9 // 10)
        for k in [k for k, tat in self._tats.items() if tat <= now]:
            del self._tats[k]
        while len(self._tats) > target:
            self._tats.popitem(last=False)
