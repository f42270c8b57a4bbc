"""How a claim's result is put on-chain: its wallet keys, its calldata, the escrow
approval it may need first, and how long a failed attempt waits.

These are the scheduler's pure rules about a delivery, kept apart from the actor
that sends it, so that what makes a key (and so what keeps the wallet from ever
sending twice) and what a delivery costs can be read and tested on their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from node.chain import contracts
from node.chain.delegation import DelegatedRequest
from node.chain.subscription import ZERO_ADDRESS, Subscription
from node.store.claim_store import Claim, ClaimStore


def delivery_key(claim: str, attempt: int) -> str:
    """The wallet key of a claim's delivery attempt (its approval adds ``/approve``)."""
    return f"{claim}/{attempt}"


def approval_key(tx_key: str) -> str:
    """The wallet key of the escrow approval that goes before delivery ``tx_key``."""
    return f"{tx_key}/approve"


def wallet_keys_in_use(claims: ClaimStore, tx_keys: Iterable[str]) -> set[str]:
    """The wallet keys among ``tx_keys`` that belong to an open claim: a restarted
    scheduler sends them again, and must get the stored outcome back rather than a
    second transaction, so the wallet keeps them whatever their age. A settled claim
    never sends again, and its retries use new keys."""
    open_keys = claims.open_keys()
    return {key for key in tx_keys if key.split("/", 1)[0] in open_keys}


def onchain_sub_id(sub_key: str) -> int | None:
    """The subscription id of an on-chain claim's ``sub_key``; None for a delegated one."""
    sub_id = sub_key.removeprefix("sub:")
    return int(sub_id) if sub_id.isdigit() else None


def delivery_calldata(claim: Claim, delegated: DelegatedRequest | None,
                      encoded: tuple[bytes, bytes, bytes], node_wallet: str) -> bytes:
    """The Coordinator call that delivers ``encoded`` (input, output, proof) for ``claim``:
    ``deliverComputeDelegatee`` for a delegated subscription, else ``deliverCompute``."""
    inp, out, proof = encoded
    if delegated is not None:
        d = delegated
        return contracts.Coordinator.encode_deliver_compute_delegatee(
            d.nonce, d.expiry, d.subscription, d.v, d.r, d.s, claim.interval,
            inp, out, proof, node_wallet)
    sub_id = int(claim.sub_key.removeprefix("sub:"))
    return contracts.Coordinator.encode_deliver_compute(
        sub_id, claim.interval, inp, out, proof, node_wallet)


def escrow_needed(sub: Subscription | None, node_wallet: str) -> tuple[str, int] | None:
    """The (token, amount) the node's payment wallet must approve before delivering for
    ``sub``: proof subscriptions lock the node's stake from it. None: nothing to approve."""
    if sub is None or not sub.requires_proof or not sub.paid or node_wallet == ZERO_ADDRESS:
        return None
    return sub.payment_token, sub.payment_amount


def retry_delay(base: float, attempts: int) -> float:
    """Seconds before the next try of a claim that failed its ``attempts``-th attempt:
    ``base``, doubled with each further attempt."""
    delay: float = base * (2 ** (attempts - 1))
    return delay
