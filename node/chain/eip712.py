"""EIP-712 digest and signer recovery for delegated subscriptions (spec/onchain.md §4).

Computed from the type strings directly, so the node checks a signature exactly the
way ``EIP712Coordinator`` will (including its 27/28-only ``v`` rule) before paying
gas for a delivery that would revert.
"""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from node.chain.subscription import Subscription

DOMAIN_NAME = "InfernetCoordinator"
DOMAIN_VERSION = "1"
SUBSCRIPTION_TYPE = ("Subscription(address owner,uint32 activeAt,uint32 period,uint32 frequency,"
                     "uint16 redundancy,bytes32 containerId,bool lazy,address verifier,"
                     "uint256 paymentAmount,address paymentToken,address wallet)")
DELEGATE_SUBSCRIPTION_TYPE = ("DelegateSubscription(uint32 nonce,uint32 expiry,Subscription sub)"
                              + SUBSCRIPTION_TYPE)
DOMAIN_TYPE = ("EIP712Domain(string name,string version,uint256 chainId,"
               "address verifyingContract)")
SUBSCRIPTION_TYPEHASH = keccak(text=SUBSCRIPTION_TYPE)
DELEGATE_SUBSCRIPTION_TYPEHASH = keccak(text=DELEGATE_SUBSCRIPTION_TYPE)
DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def domain_separator(chain_id: int, coordinator: str) -> bytes:
    return keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), chain_id,
         coordinator]))


def subscription_hash(sub: Subscription) -> bytes:
    return keccak(abi_encode(
        ["bytes32", "address", "uint32", "uint32", "uint32", "uint16", "bytes32", "bool",
         "address", "uint256", "address", "address"],
        [SUBSCRIPTION_TYPEHASH, sub.owner, sub.active_at, sub.period, sub.frequency,
         sub.redundancy, sub.container_id, sub.lazy, sub.verifier, sub.payment_amount,
         sub.payment_token, sub.wallet]))


def delegate_struct_hash(sub: Subscription, nonce: int, expiry: int) -> bytes:
    return keccak(abi_encode(["bytes32", "uint32", "uint32", "bytes32"],
                             [DELEGATE_SUBSCRIPTION_TYPEHASH, nonce, expiry,
                              subscription_hash(sub)]))


def delegate_subscription_digest(sub: Subscription, nonce: int, expiry: int, chain_id: int,
                                 coordinator: str) -> bytes:
    """The 32-byte digest a Delegator's signer signs (``sub.id`` plays no part)."""
    return keccak(b"\x19\x01" + domain_separator(chain_id, coordinator)
                  + delegate_struct_hash(sub, nonce, expiry))


def recover_delegate_signer(sub: Subscription, nonce: int, expiry: int, chain_id: int,
                            coordinator: str, v: int, r: int, s: int) -> str | None:
    """The checksummed signer address, or None where the Coordinator would revert
    ``InvalidSignature`` (v not 27/28, r/s out of range, unrecoverable)."""
    if v not in (27, 28) or not (0 < r < _SECP256K1_N and 0 < s < _SECP256K1_N):
        return None
    digest = delegate_subscription_digest(sub, nonce, expiry, chain_id, coordinator)
    try:
        signature = Signature(vrs=(v - 27, r, s))
        public_key = signature.recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError, ValueError):
        return None
    return str(public_key.to_checksum_address())
