"""The Coordinator's Subscription as a value, with the interval arithmetic the node needs.

Time is always *chain* time (a block timestamp) passed in by the caller: the node
never judges "active" or "which interval" by its local clock alone, because a
delivery simulated at a block older than ``active_at`` reverts.
"""

from __future__ import annotations

import msgspec

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
CANCELLED_ACTIVE_AT = 2**32 - 1


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """SDK v1 ``Subscription`` (ABI tuple order), plus the id it lives under."""

    id: int
    owner: str  # checksummed; the zero address for an unknown id
    active_at: int
    period: int
    frequency: int
    redundancy: int
    container_id: bytes  # 32 bytes
    lazy: bool
    verifier: str
    payment_amount: int
    payment_token: str
    wallet: str

    @property
    def exists(self) -> bool:
        return self.owner != ZERO_ADDRESS

    @property
    def cancelled(self) -> bool:
        return self.active_at == CANCELLED_ACTIVE_AT

    @property
    def is_callback(self) -> bool:
        return self.period == 0

    @property
    def requires_proof(self) -> bool:
        return self.verifier != ZERO_ADDRESS

    @property
    def paid(self) -> bool:
        return self.payment_amount > 0

    def active(self, now: int) -> bool:
        """On-chain rule: deliveries are accepted from ``active_at`` on (inclusive)."""
        return not self.cancelled and now >= self.active_at

    def interval(self, now: int) -> int:
        """The interval a delivery at chain time ``now`` must name (only when active)."""
        if self.period == 0:
            return 1
        return (now - self.active_at) // self.period + 1

    def interval_start(self, interval: int) -> int:
        """Chain time at which ``interval`` opens."""
        if self.period == 0:
            return self.active_at
        return self.active_at + (interval - 1) * self.period

    def interval_end(self, interval: int) -> int | None:
        """Chain time at which ``interval`` closes (exclusive); None for callbacks."""
        if self.period == 0:
            return None
        return self.active_at + interval * self.period

    @property
    def last_interval(self) -> int:
        """The last interval a delivery can ever name: ``frequency``, but 1 for a callback
        (its interval is always 1, whatever its frequency). 0: none at all."""
        return min(self.frequency, 1) if self.period == 0 else self.frequency

    def finished(self, now: int) -> bool:
        """Past the last interval: nothing more can be delivered."""
        return self.active(now) and self.interval(now) > self.frequency
