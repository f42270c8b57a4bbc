"""EIP-712 delegated subscriptions: domain, signature checks, nonce reuse, and
create-and-deliver in one transaction."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from tests.chain_support import ANVIL_ADDRESSES, CONSUMER_KEY, DEPLOYER_KEY, ChainSession
from tests.contracts.helpers import (
    CONTAINER_HASH,
    ZERO,
    as_tuple,
    created_ids,
    delegated_subscription,
    sign_delegation,
    subscription,
    typed_delegation,
)

pytestmark = pytest.mark.chain

SIGNER_KEY = DEPLOYER_KEY  # the delegator consumer's signer until updated


def _create_fn(chain: ChainSession, nonce: int, expiry: int, sub: dict[str, object],
               signature: tuple[int, bytes, bytes]):  # type: ignore[no-untyped-def]
    return chain.coordinator.functions.createSubscriptionDelegatee(
        nonce, expiry, as_tuple(sub), *signature)


def test_domain_matches_erc5267_and_the_spec(chain: ChainSession) -> None:
    functions = chain.coordinator.functions
    assert functions.EIP712_NAME().call() == "InfernetCoordinator"
    assert functions.EIP712_VERSION().call() == "1"
    fields, name, version, chain_id, contract, salt, extensions = functions.eip712Domain().call()
    assert (fields, name, version) == (b"\x0f", "InfernetCoordinator", "1")
    assert (chain_id, contract, salt, extensions) == (31337, chain.deployment.coordinator,
                                                      bytes(32), [])


def test_signing_helper_reproduces_the_spec_vector() -> None:
    sub = {"owner": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "activeAt": 1700000000,
           "period": 0, "frequency": 1, "redundancy": 1, "containerId": CONTAINER_HASH,
           "lazy": False, "verifier": ZERO, "paymentAmount": 0, "paymentToken": ZERO,
           "wallet": ZERO}
    message = typed_delegation(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1,
                               1800000000, sub)
    signable = encode_typed_data(full_message=message)
    digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert digest.hex() == "79c47527c9c27cb0db4e9a3d46dcd402155ea1209b834e7b8927df01b134f20e"


def test_valid_signature_creates_the_subscription_as_signed(chain: ChainSession) -> None:
    active_at = chain.now() - 100  # signed values are stored verbatim
    sub = delegated_subscription(chain, active_at=active_at, frequency=3, period=60)
    expiry = chain.now() + 3600
    fn = _create_fn(chain, 7, expiry, sub, sign_delegation(chain, SIGNER_KEY, 7, expiry, sub))

    expected_id = chain.coordinator.functions.id().call()
    assert fn.call({"from": chain.node}) == expected_id
    ids = created_ids(chain, chain.transact(fn, chain.node))

    assert ids == [expected_id]
    assert subscription(chain, expected_id) == sub
    key = keccak(abi_encode(["address", "uint32"], [sub["owner"], 7]))
    functions = chain.coordinator.functions
    assert functions.delegateCreatedIds(key).call() == expected_id
    assert functions.maxSubscriberNonce(sub["owner"]).call() == 7


def test_nonces_need_not_be_sequential(chain: ChainSession) -> None:
    expiry = chain.now() + 3600
    sub = delegated_subscription(chain, active_at=chain.now())
    for nonce in (10, 3):
        fn = _create_fn(chain, nonce, expiry, sub,
                        sign_delegation(chain, SIGNER_KEY, nonce, expiry, sub))
        chain.transact(fn, chain.node)
    assert chain.coordinator.functions.maxSubscriberNonce(sub["owner"]).call() == 10


def test_signature_from_another_key_is_a_signer_mismatch(chain: ChainSession) -> None:
    sub = delegated_subscription(chain, active_at=chain.now())
    expiry = chain.now() + 3600
    fn = _create_fn(chain, 1, expiry, sub, sign_delegation(chain, CONSUMER_KEY, 1, expiry, sub))
    assert chain.revert_of(fn, chain.node) == "SignerMismatch"


def test_tampered_subscription_is_a_signer_mismatch(chain: ChainSession) -> None:
    sub = delegated_subscription(chain, active_at=chain.now())
    expiry = chain.now() + 3600
    signature = sign_delegation(chain, SIGNER_KEY, 1, expiry, sub)
    tampered = {**sub, "redundancy": 5}
    assert chain.revert_of(_create_fn(chain, 1, expiry, tampered, signature),
                           chain.node) == "SignerMismatch"


def test_expired_signature_is_rejected(chain: ChainSession) -> None:
    sub = delegated_subscription(chain, active_at=chain.now())
    expiry = chain.now() + 60
    fn = _create_fn(chain, 1, expiry, sub, sign_delegation(chain, SIGNER_KEY, 1, expiry, sub))
    chain.mine_at(expiry + 1)
    assert chain.revert_of(fn, chain.node) == "SignatureExpired"


def test_unrecoverable_signature_is_invalid(chain: ChainSession) -> None:
    sub = delegated_subscription(chain, active_at=chain.now())
    expiry = chain.now() + 3600
    _, r, s = sign_delegation(chain, SIGNER_KEY, 1, expiry, sub)
    assert chain.revert_of(_create_fn(chain, 1, expiry, sub, (29, r, s)),
                           chain.node) == "InvalidSignature"


def test_reused_nonce_returns_the_existing_subscription(chain: ChainSession) -> None:
    sub = delegated_subscription(chain, active_at=chain.now())
    expiry = chain.now() + 60
    fn = _create_fn(chain, 4, expiry, sub, sign_delegation(chain, SIGNER_KEY, 4, expiry, sub))
    [sub_id] = created_ids(chain, chain.transact(fn, chain.node))
    next_id = chain.coordinator.functions.id().call()

    # Served after expiry and without checking the (now garbage) signature.
    chain.mine_at(expiry + 100)
    other = {**sub, "frequency": 99}
    replay = _create_fn(chain, 4, expiry, other, (27, bytes(32), bytes(32)))
    assert replay.call({"from": chain.node}) == sub_id
    assert created_ids(chain, chain.transact(replay, chain.node)) == []
    assert chain.coordinator.functions.id().call() == next_id
    assert subscription(chain, sub_id)["frequency"] == 1


def test_deliver_delegatee_creates_and_delivers_in_one_transaction(chain: ChainSession) -> None:
    sub = delegated_subscription(chain, active_at=chain.now(), redundancy=2)
    expiry = chain.now() + 3600
    signature = sign_delegation(chain, SIGNER_KEY, 2, expiry, sub)
    functions = chain.coordinator.functions

    def deliver_fn(output: bytes):  # type: ignore[no-untyped-def]
        return functions.deliverComputeDelegatee(2, expiry, as_tuple(sub), *signature, 1,
                                                 b"in", output, b"", ZERO)

    first = chain.transact(deliver_fn(b"first"), chain.node)
    [sub_id] = created_ids(chain, first)
    second = chain.transact(deliver_fn(b"second"), ANVIL_ADDRESSES[3])
    assert created_ids(chain, second) == []

    consumer = chain.contract("ExampleDelegatorConsumer", chain.deployment.delegator_consumer)
    deliveries = [consumer.functions.getDelivery(i).call() for i in range(2)]
    assert [(d[0], d[2], d[3], d[5]) for d in deliveries] == [
        (sub_id, 1, chain.node, b"first"), (sub_id, 2, ANVIL_ADDRESSES[3], b"second")]
    assert chain.revert_of(deliver_fn(b"third"), ANVIL_ADDRESSES[4]) == "IntervalCompleted"


def test_updated_signer_replaces_the_old_one(chain: ChainSession) -> None:
    consumer = chain.contract("ExampleDelegatorConsumer", chain.deployment.delegator_consumer)
    chain.transact(consumer.functions.updateSigner(chain.consumer), chain.deployer)
    assert consumer.functions.getSigner().call() == chain.consumer

    sub = delegated_subscription(chain, active_at=chain.now())
    expiry = chain.now() + 3600
    old = _create_fn(chain, 1, expiry, sub, sign_delegation(chain, SIGNER_KEY, 1, expiry, sub))
    assert chain.revert_of(old, chain.node) == "SignerMismatch"
    new = _create_fn(chain, 1, expiry, sub, sign_delegation(chain, CONSUMER_KEY, 1, expiry, sub))
    assert len(created_ids(chain, chain.transact(new, chain.node))) == 1
    assert chain.revert_of(consumer.functions.updateSigner(chain.node), chain.node) == "NotAdmin"
