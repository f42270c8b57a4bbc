"""Restart intensity and backoff, as plain values (no threads, no clocks of their own).

Erlang/OTP counts restarts per supervisor: more than ``max_restarts`` within
``within`` seconds means restarting is not helping, and the supervisor gives up
and escalates. Each child also waits longer after every consecutive failure
(exponential backoff with jitter) so a crash loop does not spin a core.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 5
    within: float = 60.0
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    jitter: float = 0.2  # fraction of the delay added at random, so peers don't restart in step
    # A child that ran this long since its last restart is healthy again: its backoff resets.
    stable_after: float = 30.0

    def backoff(self, consecutive_failures: int, rand: random.Random | None = None) -> float:
        exponent = max(consecutive_failures - 1, 0)
        base = min(self.backoff_initial * (2**exponent), self.backoff_max)
        r: float = (rand or random).random()
        return float(base * (1.0 + self.jitter * r))


@dataclass
class RestartIntensity:
    """Sliding window of restart times for one supervisor."""

    policy: RestartPolicy
    _times: deque[float] = field(default_factory=deque)

    def record(self, now: float) -> bool:
        """Count a restart at ``now``; False means the limit is exceeded: escalate."""
        self._times.append(now)
        while self._times and now - self._times[0] > self.policy.within:
            self._times.popleft()
        return len(self._times) <= self.policy.max_restarts

    @property
    def recent(self) -> int:
        return len(self._times)
