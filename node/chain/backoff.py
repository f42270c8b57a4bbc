"""The chain sync's retry schedule, apart from the actor that waits on it.

A poller whose RPC is down or rate limited must neither hammer it nor flood the
log: the delay doubles from ``first`` up to ``cap`` (or follows a longer
``retry_after`` the RPC asked for), and only a change of state is logged — reads
starting to fail, failing for another reason, recovering. The clock is passed in,
so the schedule is plain arithmetic a test can drive. (``actors.restart_policy``
adds jitter and counts restarts of actors; this one needs neither.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Backoff:
    """Exponential retry delay; logs when reads start failing and when they recover."""

    def __init__(self, clock: Callable[[], float], first: float, cap: float) -> None:
        self._clock = clock
        self._first = first
        self._cap = cap
        self._delay = 0.0
        self._retry_at = 0.0
        self._failing_since: float | None = None
        self._last_kind = ""
        self.failures = 0

    def waiting(self) -> bool:
        """True until the delay of the last failure has passed."""
        return self._clock() < self._retry_at

    def failed(self, kind: str, error: str, retry_after: float | None = None) -> float:
        """Counts a failure; returns how long to wait before the next attempt."""
        now = self._clock()
        self._delay = self._first if self._delay == 0 else min(self._delay * 2, self._cap)
        delay = max(self._delay, retry_after or 0.0)
        self._retry_at = now + delay
        self.failures += 1
        if self._failing_since is None or kind != self._last_kind:
            log.warning("chain sync failing, backing off",
                        extra={"kind": kind, "error": error, "retry_in": round(delay, 2)})
        if self._failing_since is None:
            self._failing_since = now
        self._last_kind = kind
        return delay

    def succeeded(self) -> None:
        """Back to no delay; logs the recovery if there was trouble."""
        if self._failing_since is not None:
            log.info("chain sync recovered",
                     extra={"failures": self.failures,
                            "down_for": round(self._clock() - self._failing_since, 2)})
        self._delay = 0.0
        self._retry_at = 0.0
        self._failing_since = None
        self._last_kind = ""
        self.failures = 0
