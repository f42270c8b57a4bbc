"""Revert data decoded into a readable error, and what the node should do about it.

The error table is written out by hand from spec/onchain.md §3.8 and §9 plus our
suite's extra errors, so decoding does not depend on which ABI files ship; a unit
test checks it covers every error in the committed ABIs.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.crypto import keccak

Action = Literal["terminal_subscription", "terminal_interval", "retry_later", "unknown"]

ERROR_SIGNATURES: tuple[str, ...] = (
    # Coordinator (SDK v1)
    "InvalidWallet()", "IntervalMismatch()", "IntervalCompleted()", "UnauthorizedVerifier()",
    "NodeRespondedAlready()", "SubscriptionNotFound()", "ProofRequestNotFound()",
    "NotSubscriptionOwner()", "SubscriptionCompleted()", "SubscriptionNotActive()",
    "UnsupportedVerifierToken()", "Reentrancy()",
    # EIP712Coordinator
    "SignerMismatch()", "SignatureExpired()", "InvalidSignature()",
    # Wallet, tokens, consumers, Inbox
    "InsufficientFunds()", "InsufficientAllowance()", "TransferFailed()", "NodeNotAllowed()",
    "InsufficientBalance()", "NotCoordinator()",
    # Ownable (Wallet, Fee)
    "Unauthorized()", "NewOwnerIsZeroAddress()", "NoHandoverRequest()", "AlreadyInitialized()",
    "NotAdmin()",
    # NodeManager (SDK v0 Manager interface; our suite's optional registration)
    "NodeNotRegisterable(address,uint8)", "NodeNotActivateable(uint8)",
    "CooldownActive(uint32)", "NodeNotActive()",
    # SDK v0 delivery limits
    "GasPriceExceeded()", "GasLimitExceeded()",
)

ERROR_STRING = "Error(string)"
PANIC = "Panic(uint256)"


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


def _types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1:-1]
    return inner.split(",") if inner else []


ERRORS: dict[str, str] = {_selector(s): s for s in (*ERROR_SIGNATURES, ERROR_STRING, PANIC)}

# spec/onchain.md §8, "Recommended classification".
_TERMINAL_SUBSCRIPTION = frozenset({
    "SubscriptionNotFound", "SubscriptionCompleted", "InvalidWallet",
    "UnsupportedVerifierToken", "SignerMismatch", "InvalidSignature", "NodeNotAllowed",
    "SignatureExpired",
    # Paid subscriptions whose wallet is not ours to fix; also v0 limits set by the owner.
    "GasPriceExceeded", "GasLimitExceeded",
})
_TERMINAL_INTERVAL = frozenset({"IntervalCompleted", "NodeRespondedAlready", "IntervalMismatch"})
_RETRY_LATER = frozenset({
    "SubscriptionNotActive", "InsufficientFunds", "InsufficientAllowance",
    "InsufficientBalance", "TransferFailed",
    # Our NodeManager: this node cannot deliver anything until it is (re)activated; an
    # operator action, so callers should wait long (minutes), not drop subscriptions.
    "NodeNotActive",
    # Another delivery was running in the same transaction context; try again.
    "Reentrancy",
})

PANIC_REASONS = {
    0x01: "assertion failed", 0x11: "arithmetic overflow or underflow",
    0x12: "division by zero", 0x21: "invalid enum value", 0x22: "bad storage byte array",
    0x31: "pop on an empty array", 0x32: "array index out of bounds",
    0x41: "out of memory", 0x51: "call to an uninitialised function",
}


class DecodedRevert(msgspec.Struct, frozen=True):
    """``name`` is the error name ("IntervalMismatch", "Error", "Panic"), "" for a bare
    revert with no data, "Unknown" for an unknown selector."""

    name: str
    args: tuple[Any, ...]
    selector: str  # 0x + 8 hex digits, "" when the data is shorter than a selector

    @property
    def reason(self) -> str:
        """A one-line human reading."""
        if self.name == "":
            return "reverted without data"
        if self.name == "Error" and self.args:
            return f"Error({self.args[0]!r})"
        if self.name == "Panic" and self.args:
            code = int(self.args[0])
            return f"Panic(0x{code:x}: {PANIC_REASONS.get(code, 'unknown panic code')})"
        if self.name == "Unknown":
            return f"unknown error {self.selector}"
        return f"{self.name}({', '.join(str(a) for a in self.args)})"

    @property
    def action(self) -> Action:
        return classify(self.name)


def decode_revert(data: bytes) -> DecodedRevert:
    if len(data) < 4:
        return DecodedRevert("", (), "")
    selector = "0x" + data[:4].hex()
    signature = ERRORS.get(selector)
    if signature is None:
        return DecodedRevert("Unknown", (data[4:],), selector)
    name = signature[:signature.index("(")]
    try:
        args = tuple(abi_decode(_types(signature), data[4:]))
    except (DecodingError, ValueError, OverflowError):
        return DecodedRevert(name, (), selector)
    return DecodedRevert(name, args, selector)


def classify(name: str) -> Action:
    """What a delivery that reverted with error ``name`` means for the node."""
    if name in _TERMINAL_SUBSCRIPTION:
        return "terminal_subscription"
    if name in _TERMINAL_INTERVAL:
        return "terminal_interval"
    if name in _RETRY_LATER:
        return "retry_later"
    return "unknown"
