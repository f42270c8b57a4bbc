"""What the subscription poller needs from a Coordinator log, and nothing else.

``contracts.decode_coordinator_log`` gives every typed field of every Coordinator
event; the poller only follows subscriptions being created, cancelled and
fulfilled, and wants each as one flat record it can sort, filter and compare
(lower-case hashes) with the block it read. Reorged-out logs (``removed``) and
other events (ProofVerified) are dropped here so the poller never sees them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from node.chain import contracts

EventKind = Literal["created", "cancelled", "fulfilled"]


@dataclass(frozen=True)
class SubscriptionEvent:
    kind: EventKind
    sub_id: int
    block: int
    block_hash: str  # lower case
    tx_hash: str     # lower case
    node: str = ""   # the delivering account, for "fulfilled"
    timestamp: int | None = None  # some RPCs put blockTimestamp in logs: saves a header


def subscription_event(entry: dict[str, Any]) -> SubscriptionEvent | None:
    """One raw eth_getLogs entry; None for Coordinator events the poller does not follow.
    ValueError (from the decoder) for a log that is not the Coordinator's at all."""
    decoded = contracts.decode_coordinator_log(entry)
    kind: EventKind
    node = ""
    if isinstance(decoded, contracts.SubscriptionCreated):
        kind = "created"
    elif isinstance(decoded, contracts.SubscriptionCancelled):
        kind = "cancelled"
    elif isinstance(decoded, contracts.SubscriptionFulfilled):
        kind, node = "fulfilled", decoded.node
    else:
        return None
    stamp = entry.get("blockTimestamp")
    return SubscriptionEvent(kind=kind, sub_id=decoded.sub_id, block=decoded.block_number,
                             block_hash=decoded.block_hash.lower(),
                             tx_hash=decoded.tx_hash.lower(), node=node,
                             timestamp=None if stamp is None else int(stamp, 16))


def subscription_events(logs: Iterable[dict[str, Any]]) -> list[SubscriptionEvent]:
    """The followed events among ``logs``, in their order, without reorged-out ones."""
    events = [subscription_event(entry) for entry in logs if not entry.get("removed")]
    return [e for e in events if e is not None]
