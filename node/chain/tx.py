"""A wallet transaction as a persisted state machine, its signed attempts, and the fee
policy. Pure: no RPC, no storage, no clock.

A transaction (one idempotency key) moves through explicit states::

    queued --> signed --> sent --> mined | reverted
      |          |  ^      |  \\
      |          |  +------+   +--> signed   (a replacement or re-signed attempt)
      v          v
    simulation_failed, failed

Every attempt is a fully signed transaction; it is saved before it is sent so a
restart can send the very same bytes again (same hash) instead of signing anew.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

TxState = Literal["queued", "signed", "sent", "mined", "reverted", "simulation_failed",
                  "failed"]
OutcomeStatus = Literal["mined", "reverted", "simulation_failed", "failed"]

IN_FLIGHT_STATES: tuple[TxState, ...] = ("queued", "signed", "sent")
FINAL_STATES: tuple[TxState, ...] = ("mined", "reverted", "simulation_failed", "failed")
# Decided on-chain: the key never sends again. simulation_failed and failed left no
# trace on chain, so a new request under the same key may try again.
ON_CHAIN_STATES: tuple[TxState, ...] = ("mined", "reverted")

_TRANSITIONS: dict[TxState, frozenset[TxState]] = {
    "queued": frozenset({"signed", "simulation_failed", "failed"}),
    # signed -> mined/reverted: a replayed attempt whose hash turns out to be mined.
    "signed": frozenset({"signed", "sent", "mined", "reverted", "failed"}),
    "sent": frozenset({"signed", "sent", "mined", "reverted", "failed"}),
    "mined": frozenset(),
    "reverted": frozenset(),
    # A later request under the same key starts over.
    "simulation_failed": frozenset({"queued"}),
    "failed": frozenset({"queued"}),
}

# Replacements must raise both fee fields by at least 10 % (geth's rule); 12.5 %
# leaves room for rounding and matches the base fee's own maximum step.
BUMP_NUMERATOR = 9
BUMP_DENOMINATOR = 8


class InvalidTransition(ValueError):
    """A state change the state machine does not allow (a bug in the caller)."""


def check_transition(old: TxState, new: TxState) -> None:
    if new not in _TRANSITIONS[old]:
        raise InvalidTransition(f"transaction state cannot go from {old!r} to {new!r}")


def is_in_flight(state: TxState) -> bool:
    return state in IN_FLIGHT_STATES


_OUTCOMES: dict[TxState, OutcomeStatus] = {
    "mined": "mined", "reverted": "reverted", "simulation_failed": "simulation_failed",
    "failed": "failed",
}


def outcome_status(state: TxState) -> OutcomeStatus:
    try:
        return _OUTCOMES[state]
    except KeyError:
        raise ValueError(f"transaction state {state!r} is not final") from None


class Fees(msgspec.Struct, frozen=True):
    """EIP-1559 fees, or a legacy gas price when ``priority_fee`` is None (then
    ``max_fee`` is the gas price)."""

    max_fee: int
    priority_fee: int | None = None

    @property
    def legacy(self) -> bool:
        return self.priority_fee is None

    def fields(self) -> dict[str, int]:
        if self.priority_fee is None:
            return {"gasPrice": self.max_fee}
        return {"maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.priority_fee}


def suggested_fees(suggestion: tuple[int, int] | None, gas_price: int | None) -> Fees:
    """EIP-1559 from the RPC's suggestion, else legacy from its gas price."""
    if suggestion is not None:
        max_fee, priority = suggestion
        return Fees(max_fee=max(max_fee, priority), priority_fee=priority)
    if gas_price is None:
        raise ValueError("neither an EIP-1559 fee suggestion nor a gas price is available")
    return Fees(max_fee=gas_price)


def _bump(value: int) -> int:
    # Ceiling division, and at least +1 so tiny values still grow.
    return max(value + 1, -(-value * BUMP_NUMERATOR // BUMP_DENOMINATOR))


def bumped_fees(previous: Fees, current: Fees | None = None) -> Fees:
    """Fees for a replacement: both fields +12.5 % over ``previous``, and never below
    what the network suggests now (``current``) when that is higher."""
    max_fee = _bump(previous.max_fee)
    if previous.priority_fee is None:
        if current is not None:
            max_fee = max(max_fee, current.max_fee)
        return Fees(max_fee=max_fee)
    priority = _bump(previous.priority_fee)
    if current is not None and current.priority_fee is not None:
        priority = max(priority, current.priority_fee)
        max_fee = max(max_fee, current.max_fee)
    return Fees(max_fee=max(max_fee, priority), priority_fee=priority)


def gas_with_margin(estimate: int, margin: float, cap: int) -> int:
    """The estimate with a safety margin, capped: an estimate with no margin runs out
    of gas in the consumer's callback when several deliveries land in one block."""
    if estimate <= 0 or margin < 1.0 or cap <= 0:
        raise ValueError(f"bad gas inputs: estimate={estimate} margin={margin} cap={cap}")
    return min(int(estimate * margin + 0.999), cap)


class TxRequest(msgspec.Struct, frozen=True):
    """What to send, independent of nonce and fees, and how: ``simulate`` first (a
    revert then stops it), with an explicit ``gas_limit`` or an estimate."""

    to: str
    data: bytes
    value: int = 0
    simulate: bool = True
    gas_limit: int | None = None


class Attempt(msgspec.Struct, frozen=True):
    """One signed version of a transaction (the first, a re-sign or a replacement)."""

    key: str
    nonce: int
    tx_hash: str
    raw: bytes
    fees: Fees
    gas: int
    created_at: float
    sent: bool = False


class TxRecord(msgspec.Struct, frozen=True):
    """A transaction as persisted, with its outcome once decided."""

    key: str
    request: TxRequest
    reply_to: str
    state: TxState
    created_at: float
    updated_at: float
    nonce: int | None = None
    gas: int | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    gas_used: int | None = None
    error: str | None = None
    revert_name: str | None = None
    revert_class: str | None = None
    notified: bool = False


def local_tx_hash(raw: bytes) -> str:
    """The transaction hash, computed locally (keccak of the signed bytes, typed or
    legacy), so a resend answered with "already known" is recognised as ours."""
    return "0x" + keccak(raw).hex()


def sign_attempt(account: LocalAccount, *, chain_id: int, key: str, nonce: int,
                 request: TxRequest, gas: int, fees: Fees, now: float) -> Attempt:
    tx: dict[str, Any] = {
        "chainId": chain_id,
        "nonce": nonce,
        "gas": gas,
        "to": to_checksum_address(request.to),
        "value": request.value,
        "data": request.data,
        **fees.fields(),
    }
    raw = bytes(account.sign_transaction(tx).raw_transaction)
    return Attempt(key=key, nonce=nonce, tx_hash=local_tx_hash(raw), raw=raw, fees=fees,
                   gas=gas, created_at=now)
