"""The vocabulary shared by everything that talks to an Ethereum JSON-RPC endpoint.

RPC failures are sorted into a closed set of kinds, so callers decide by kind
(retry with backoff, resync the nonce, treat as sent, give up) and never by
matching error strings themselves.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

RpcErrorKind = Literal[
    "revert",                   # execution reverted; ``data`` holds the revert bytes
    "nonce_too_low",            # resync the nonce
    "nonce_too_high",
    "already_known",            # the same signed tx is already in the pool: treat as sent
    "replacement_underpriced",  # bump fees more
    "fee_too_low",              # below base fee / minimum tip
    "insufficient_funds",       # the sender cannot pay gas * price + value
    "gas_limit",                # intrinsic gas too low / exceeds block gas limit
    "rate_limited",             # HTTP 429 or provider quota: back off
    "unavailable",              # connection refused/reset, 5xx: back off
    "timeout",
    "unsupported",              # method not found (e.g. eth_newFilter on some RPCs)
    "invalid",                  # malformed request/response: a bug, not the network
    "other",
]


class RpcError(Exception):
    def __init__(self, kind: RpcErrorKind, message: str, *, method: str = "",
                 data: bytes | None = None) -> None:
        super().__init__(f"{method}: {kind}: {message}" if method else f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.method = method
        self.data = data  # revert data for kind == "revert"

    @property
    def retryable(self) -> bool:
        return self.kind in ("rate_limited", "unavailable", "timeout")


class Block(msgspec.Struct, frozen=True):
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    base_fee: int | None = None


class Receipt(msgspec.Struct, frozen=True):
    tx_hash: str
    status: int  # 1 success, 0 reverted
    block_number: int
    block_hash: str
    gas_used: int
    effective_gas_price: int


class Rpc(Protocol):
    """What the chain actors need from an RPC endpoint. Every call may raise RpcError."""

    @property
    def calls(self) -> int:
        """How many JSON-RPC requests this client has sent (for benchmarks and tests)."""

    def chain_id(self) -> int:
        """Cached after the first successful call."""

    def block_number(self) -> int: ...

    def block(self, number: int | Literal["latest"]) -> Block: ...

    def call(self, to: str, data: bytes, *, block: int | Literal["latest"] = "latest",
             sender: str | None = None, gas: int | None = None) -> bytes:
        """eth_call; a revert raises RpcError(kind="revert", data=<revert bytes>)."""

    def estimate_gas(self, tx: dict[str, Any]) -> int: ...

    def nonce(self, address: str,
              block: int | Literal["latest", "pending"] = "pending") -> int: ...

    def balance(self, address: str, block: int | Literal["latest"] = "latest") -> int: ...

    def fee_suggestion(self) -> tuple[int, int] | None:
        """(max_fee_per_gas, max_priority_fee_per_gas) for EIP-1559, None if unsupported."""

    def max_priority_fee(self) -> int:
        """eth_maxPriorityFeePerGas: the suggested tip alone."""

    def gas_price(self) -> int: ...

    def send_raw(self, raw: bytes) -> str:
        """eth_sendRawTransaction; returns the tx hash."""

    def receipt(self, tx_hash: str) -> Receipt | None: ...

    def batch_call(self, calls: list[tuple[str, bytes]], *,
                   block: int | Literal["latest"] = "latest") -> list[bytes | RpcError]:
        """Several eth_calls in one JSON-RPC batch request (one HTTP round trip)."""
