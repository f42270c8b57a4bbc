"""What a wallet pays: fees for a new transaction, for a replacement, and whether an
old attempt has fallen behind the market.

Split from the wallet actor so the arithmetic and the cache rules can be tested
without an actor, a key or a chain: the RPC and the clock are passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from node.chain.rpc_types import RpcError
from node.chain.tx import Fees, bumped_fees, suggested_fees

FEE_TTL = 1.0  # seconds a fee suggestion is reused for new transactions
# The priority fee suggestion changes slowly; with the base fee of the head the poller
# read, it is refreshed this often, and at once for replacements and fee refusals.
TIP_TTL = 60.0


class FeeOracle(Protocol):
    """The part of the RPC fees are read from."""

    def fee_suggestion(self) -> tuple[int, int] | None: ...

    def max_priority_fee(self) -> int: ...

    def gas_price(self) -> int: ...


def fees_from_base(base_fee: int, tip: int) -> Fees:
    # Twice the base fee: room for it to rise for several blocks.
    return Fees(max_fee=2 * base_fee + tip, priority_fee=tip)


def underpriced(fees: Fees, current: Fees) -> bool:
    """Whether ``fees`` pay less than what gets included now."""
    # For EIP-1559 (2 * base + tip + tip) / 2 = base + tip: what gets included now.
    going_rate = (current.max_fee + (current.priority_fee or current.max_fee)) // 2
    return fees.max_fee < going_rate


class FeePolicy:
    """One wallet's fee reads, cached: a whole suggestion for FEE_TTL, the priority fee
    (used with a base fee the caller already knows) for TIP_TTL."""

    def __init__(self, rpc: FeeOracle, clock: Callable[[], float] = time.monotonic) -> None:
        self._rpc = rpc
        self._clock = clock
        self._fee_cache: tuple[Fees, float] | None = None
        self._tip_cache: tuple[int, float] | None = None

    def fees(self, *, base_fee: int | None, fresh: bool = False) -> Fees:
        """Fees for a new attempt. ``base_fee``: of a head known to be current, or None.
        ``fresh``: read the RPC again whatever is cached. Raises RpcError."""
        now = self._clock()
        if base_fee is not None:
            tip = self.tip(fresh=fresh)
            if tip is not None:
                return fees_from_base(base_fee, tip)
        if not fresh and self._fee_cache is not None and now - self._fee_cache[1] < FEE_TTL:
            return self._fee_cache[0]
        try:
            suggestion = self._rpc.fee_suggestion()
        except RpcError as exc:
            if exc.kind != "unsupported":
                raise
            suggestion = None
        fees = suggested_fees(suggestion, None if suggestion else self._rpc.gas_price())
        self._fee_cache = (fees, now)
        return fees

    def tip(self, *, fresh: bool) -> int | None:
        """The RPC's priority fee suggestion, reused for TIP_TTL; None if unsupported."""
        now = self._clock()
        if not fresh and self._tip_cache is not None and now - self._tip_cache[1] < TIP_TTL:
            return self._tip_cache[0]
        try:
            tip = self._rpc.max_priority_fee()
        except RpcError as exc:
            if exc.kind != "unsupported":
                raise
            return None
        self._tip_cache = (tip, now)
        return tip

    def replacement(self, previous: Fees, *, base_fee: int | None) -> Fees:
        """Fees to re-sign a stuck attempt with: bumped over ``previous`` and never below
        a fresh read of the market. Raises RpcError."""
        return bumped_fees(previous, self.fees(base_fee=base_fee, fresh=True))

    def underpriced(self, fees: Fees, *, base_fee: int | None) -> bool:
        """Whether an attempt's ``fees`` have fallen behind the market; False when the
        market cannot be read."""
        try:
            current = self.fees(base_fee=base_fee)
        except RpcError:
            return False
        return underpriced(fees, current)
