"""Messages to and from the wallet actor.

``SendTransaction`` is told; exactly one ``TransactionOutcome`` per key is told back
to ``reply_to`` (an actor name in the directory). A key that already has an
in-flight or on-chain (mined/reverted) transaction never sends again: the outcome
comes when decided, or the stored one is told again. Decided transactions are kept
for the retention (``store.finished_ttl``) and for as long as an open claim of the
requester uses their key; a key pruned after that is never sent again by anyone. A
key whose earlier run left nothing on chain (simulation_failed/failed) is tried
afresh.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class SendTransaction(msgspec.Struct, frozen=True, tag=True):
    key: str
    to: str
    data: bytes
    reply_to: str
    simulate: bool = True
    value: int = 0
    # An explicit gas limit (capped at wallet.max_gas_limit); the estimate then only
    # serves as the simulation. None: the estimate with the wallet's safety margin.
    gas_limit: int | None = None
    block: int | None = None  # simulate at this block if given, else at latest


class TransactionOutcome(msgspec.Struct, frozen=True, tag=True):
    key: str
    status: Literal["mined", "reverted", "simulation_failed", "failed"]
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    error: str | None
    revert_name: str | None
    revert_class: str | None


class WalletStatus(msgspec.Struct, frozen=True, tag=True):
    """Ask: answered with ``WalletState``."""


class WalletState(msgspec.Struct, frozen=True, tag=True):
    address: str
    next_nonce: int
    in_flight: int
    balance: int | None  # None when the RPC could not be read
    fed: bool = False  # following the heads the poller tells (else polling its own)


WalletMessage = SendTransaction | WalletStatus
