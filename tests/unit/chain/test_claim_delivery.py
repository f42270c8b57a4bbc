"""The scheduler's delivery rules: keys, the calldata per kind of subscription, the
escrow approval and the retry delay."""

from __future__ import annotations

import msgspec
import pytest

from node.chain import contracts
from node.chain.claim_delivery import (
    approval_key,
    delivery_calldata,
    delivery_key,
    escrow_needed,
    onchain_sub_id,
    retry_delay,
)
from node.chain.delegation import DelegatedRequest
from node.chain.subscription import ZERO_ADDRESS, Subscription
from node.store.claim_store import Claim

PAYMENT_WALLET = "0x" + "77" * 20
TOKEN = "0x" + "cd" * 20
ENCODED = (b"in", b"out", b"proof")

PAID_PROOF = Subscription(id=9, owner="0x" + "ab" * 20, active_at=1, period=0, frequency=1,
                          redundancy=1, container_id=b"\x00" * 32, lazy=False,
                          verifier="0x" + "99" * 20, payment_amount=5, payment_token=TOKEN,
                          wallet="0x" + "ef" * 20)


def claim(sub_key: str) -> Claim:
    return Claim(key=f"{sub_key}:1", sub_key=sub_key, interval=1, state="claimed", attempts=1)


def test_keys_say_whose_attempt_they_are() -> None:
    key = delivery_key("sub:3:2", 4)
    assert key == "sub:3:2/4"
    assert approval_key(key) == "sub:3:2/4/approve"
    assert delivery_key("sub:3:2", 5) != key


def test_only_onchain_sub_keys_name_a_subscription() -> None:
    assert onchain_sub_id("sub:42") == 42
    assert onchain_sub_id(f"deleg:{PAID_PROOF.owner}:3") is None


def test_an_onchain_claim_delivers_by_id_and_a_delegated_one_by_signature() -> None:
    onchain = delivery_calldata(claim("sub:9"), None, ENCODED, PAYMENT_WALLET)
    assert onchain == contracts.Coordinator.encode_deliver_compute(
        9, 1, b"in", b"out", b"proof", PAYMENT_WALLET)
    request = DelegatedRequest(job_id="j", client="c", containers=("c1",), nonce=3,
                               expiry=100, v=27, r=1, s=2, subscription=PAID_PROOF)
    delegated = delivery_calldata(claim(request.sub_key), request, ENCODED, PAYMENT_WALLET)
    assert delegated == contracts.Coordinator.encode_deliver_compute_delegatee(
        3, 100, PAID_PROOF, 27, 1, 2, 1, b"in", b"out", b"proof", PAYMENT_WALLET)
    assert delegated[:4] != onchain[:4]


@pytest.mark.parametrize(("change", "wallet"), [
    ({"verifier": ZERO_ADDRESS}, PAYMENT_WALLET),  # no proof: no stake
    ({"payment_amount": 0}, PAYMENT_WALLET),  # unpaid
    ({}, ZERO_ADDRESS),  # no payment wallet to approve from
])
def test_no_escrow_unless_a_paid_proof_and_a_payment_wallet(change: dict[str, object],
                                                            wallet: str) -> None:
    assert escrow_needed(msgspec.structs.replace(PAID_PROOF, **change), wallet) is None


def test_a_paid_proof_subscription_needs_its_payment_approved() -> None:
    assert escrow_needed(PAID_PROOF, PAYMENT_WALLET) == (TOKEN, 5)
    assert escrow_needed(None, PAYMENT_WALLET) is None


def test_the_retry_delay_doubles_with_each_attempt() -> None:
    assert [retry_delay(2.0, n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
