"""EIP-712 digest and recovery against the spec's test vector and eth_account."""

from __future__ import annotations

import msgspec
from eth_account import Account
from eth_account.messages import encode_typed_data

from node.chain import eip712
from node.chain.subscription import ZERO_ADDRESS, Subscription

CHAIN_ID = 31337
COORDINATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OWNER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
HELLO_WORLD = bytes.fromhex("5768661526084c7b4d30f7224ed6c74ade98db3c6c395c55400a17f34a547e22")
KEY = "0x" + "11" * 32
SIGNER = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
V, R, S = (27,
           61690509118183754694777975075921185136168336748464937007598266610670461913203,
           25071740193817220010857502455608939220974248238502588631237317350857840199599)
NONCE, EXPIRY = 1, 1800000000

SUB = Subscription(id=0, owner=OWNER, active_at=1700000000, period=0, frequency=1, redundancy=1,
                   container_id=HELLO_WORLD, lazy=False, verifier=ZERO_ADDRESS, payment_amount=0,
                   payment_token=ZERO_ADDRESS, wallet=ZERO_ADDRESS)


def test_type_hashes_match_the_spec() -> None:
    assert eip712.SUBSCRIPTION_TYPEHASH.hex() == (
        "3da81ed66ee47395e568c52867826ec137777eef9c1bdfb6bf972dd4385bc5a9")
    assert eip712.DELEGATE_SUBSCRIPTION_TYPEHASH.hex() == (
        "ba9ff1aef2b048b42767aade2b901745a3acf14f698a9ec13952098cfd03d0b6")
    assert eip712.DOMAIN_TYPEHASH.hex() == (
        "8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f")


def test_spec_vector_byte_for_byte() -> None:
    assert eip712.domain_separator(CHAIN_ID, COORDINATOR).hex() == (
        "55c593093c8702a415567d254ddab7a6a05289bfec49d4ce66f6f42ae9640489")
    assert eip712.delegate_struct_hash(SUB, NONCE, EXPIRY).hex() == (
        "345249e51cec6354a97fc00e7fbb738b38778be71dd069f4802467923e343331")
    digest = eip712.delegate_subscription_digest(SUB, NONCE, EXPIRY, CHAIN_ID, COORDINATOR)
    assert digest.hex() == "79c47527c9c27cb0db4e9a3d46dcd402155ea1209b834e7b8927df01b134f20e"
    assert Account.from_key(KEY).address == SIGNER
    assert eip712.recover_delegate_signer(SUB, NONCE, EXPIRY, CHAIN_ID, COORDINATOR,
                                          V, R, S) == SIGNER


def test_the_sub_id_plays_no_part() -> None:
    a = eip712.delegate_subscription_digest(SUB, NONCE, EXPIRY, CHAIN_ID, COORDINATOR)
    b = eip712.delegate_subscription_digest(msgspec.structs.replace(SUB, id=9), NONCE, EXPIRY,
                                            CHAIN_ID, COORDINATOR)
    assert a == b


def _typed(sub: Subscription, nonce: int, expiry: int) -> dict[str, object]:
    fields = [("owner", "address"), ("activeAt", "uint32"), ("period", "uint32"),
              ("frequency", "uint32"), ("redundancy", "uint16"), ("containerId", "bytes32"),
              ("lazy", "bool"), ("verifier", "address"), ("paymentAmount", "uint256"),
              ("paymentToken", "address"), ("wallet", "address")]
    values = [sub.owner, sub.active_at, sub.period, sub.frequency, sub.redundancy,
              sub.container_id, sub.lazy, sub.verifier, sub.payment_amount, sub.payment_token,
              sub.wallet]
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"},
                             {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Subscription": [{"name": n, "type": t} for n, t in fields],
            "DelegateSubscription": [{"name": "nonce", "type": "uint32"},
                                     {"name": "expiry", "type": "uint32"},
                                     {"name": "sub", "type": "Subscription"}],
        },
        "primaryType": "DelegateSubscription",
        "domain": {"name": "InfernetCoordinator", "version": "1", "chainId": CHAIN_ID,
                   "verifyingContract": COORDINATOR},
        "message": {"nonce": nonce, "expiry": expiry,
                    "sub": {n: v for (n, _), v in zip(fields, values, strict=True)}},
    }


def test_eth_account_signatures_recover_for_varied_subscriptions() -> None:
    account = Account.create()
    cases = [
        (SUB, 1, EXPIRY),
        (msgspec.structs.replace(SUB, period=60, frequency=10, redundancy=3, lazy=True,
                                 payment_amount=10**18, payment_token=OWNER, wallet=SIGNER,
                                 verifier=COORDINATOR), 4_000_000_000, 7),
    ]
    for sub, nonce, expiry in cases:
        typed = _typed(sub, nonce, expiry)
        signed = account.sign_message(encode_typed_data(full_message=typed))
        digest = eip712.delegate_subscription_digest(sub, nonce, expiry, CHAIN_ID, COORDINATOR)
        assert bytes(signed.message_hash) == digest
        assert eip712.recover_delegate_signer(sub, nonce, expiry, CHAIN_ID, COORDINATOR,
                                              signed.v, signed.r, signed.s) == account.address
        other = eip712.recover_delegate_signer(sub, nonce + 1, expiry, CHAIN_ID, COORDINATOR,
                                               signed.v, signed.r, signed.s)
        assert other != account.address


def test_signatures_the_coordinator_rejects_recover_nothing() -> None:
    args = (SUB, NONCE, EXPIRY, CHAIN_ID, COORDINATOR)
    assert eip712.recover_delegate_signer(*args, 0, R, S) is None  # v must be 27/28
    assert eip712.recover_delegate_signer(*args, 1, R, S) is None
    assert eip712.recover_delegate_signer(*args, 27, 0, S) is None
    assert eip712.recover_delegate_signer(*args, 27, R, 0) is None
    assert eip712.recover_delegate_signer(*args, 27, 2**256 - 1, S) is None
