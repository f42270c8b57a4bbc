"""Shared steps of the contract tests: creating subscriptions through the example
consumers, delivering, signing delegated subscriptions, reading balances."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.crypto import keccak
from web3.contract.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from tests.chain_support import ChainSession

ZERO = "0x0000000000000000000000000000000000000000"
CONTAINER = "hello-world"
CONTAINER_HASH = bytes.fromhex("5768661526084c7b4d30f7224ed6c74ade98db3c6c395c55400a17f34a547e22")
CANCELLED = 2**32 - 1
ETHER = 10**18

SUBSCRIPTION_FIELDS = (
    ("owner", "address"), ("activeAt", "uint32"), ("period", "uint32"), ("frequency", "uint32"),
    ("redundancy", "uint16"), ("containerId", "bytes32"), ("lazy", "bool"),
    ("verifier", "address"), ("paymentAmount", "uint256"), ("paymentToken", "address"),
    ("wallet", "address"),
)


def created_ids(chain: ChainSession, receipt: TxReceipt) -> list[int]:
    events = chain.coordinator.events.SubscriptionCreated().process_receipt(receipt, errors=DISCARD)
    return [int(e["args"]["id"]) for e in events]


def coordinator_logs(chain: ChainSession, receipt: TxReceipt) -> list[Any]:
    return [log for log in receipt["logs"] if log["address"] == chain.deployment.coordinator]


def topic_hex(topic: bytes) -> str:
    return "0x" + bytes(topic).hex()


def subscription_consumer(chain: ChainSession) -> Contract:
    return chain.contract("ExampleSubscriptionConsumer", chain.deployment.subscription_consumer)


def callback_consumer(chain: ChainSession) -> Contract:
    return chain.contract("ExampleCallbackConsumer", chain.deployment.callback_consumer)


def create_subscription(chain: ChainSession, *, frequency: int = 1, period: int = 0,
                        redundancy: int = 1, lazy: bool = False, token: str = ZERO,
                        amount: int = 0, wallet: str = ZERO, verifier: str = ZERO) -> int:
    fn = subscription_consumer(chain).functions.createSubscription(
        CONTAINER, frequency, period, redundancy, lazy, token, amount, wallet, verifier)
    return created_ids(chain, chain.transact(fn, chain.consumer))[0]


def request_callback(chain: ChainSession, inputs: bytes = b"inputs", *, redundancy: int = 1,
                     token: str = ZERO, amount: int = 0, wallet: str = ZERO,
                     verifier: str = ZERO) -> int:
    fn = callback_consumer(chain).functions.requestCompute(
        CONTAINER, inputs, redundancy, token, amount, wallet, verifier)
    return created_ids(chain, chain.transact(fn, chain.consumer))[0]


def deliver_fn(chain: ChainSession, sub_id: int, interval: int, *, output: bytes = b"output",
               proof: bytes = b"", node_wallet: str = ZERO) -> Any:
    return chain.coordinator.functions.deliverCompute(
        sub_id, interval, b"input", output, proof, node_wallet)


def deliver(chain: ChainSession, sub_id: int, interval: int, node: str, **kwargs: Any) -> TxReceipt:
    return chain.transact(deliver_fn(chain, sub_id, interval, **kwargs), node)


def deliver_error(chain: ChainSession, sub_id: int, interval: int, node: str,
                  **kwargs: Any) -> str:
    return chain.revert_of(deliver_fn(chain, sub_id, interval, **kwargs), node)


def node_key(sub_id: int, interval: int, node: str) -> bytes:
    return keccak(abi_encode(["uint32", "uint32", "address"], [sub_id, interval, node]))


def interval_key(sub_id: int, interval: int) -> bytes:
    return keccak(abi_encode(["uint32", "uint32"], [sub_id, interval]))


def subscription(chain: ChainSession, sub_id: int) -> dict[str, Any]:
    values = chain.coordinator.functions.getSubscription(sub_id).call()
    return {name: value for (name, _), value in zip(SUBSCRIPTION_FIELDS, values, strict=True)}


def typed_delegation(chain_id: int, coordinator: str, nonce: int, expiry: int,
                     sub: dict[str, Any]) -> dict[str, Any]:
    """The EIP-712 message the official client signs for a delegated subscription."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Subscription": [{"name": n, "type": t} for n, t in SUBSCRIPTION_FIELDS],
            "DelegateSubscription": [
                {"name": "nonce", "type": "uint32"},
                {"name": "expiry", "type": "uint32"},
                {"name": "sub", "type": "Subscription"},
            ],
        },
        "primaryType": "DelegateSubscription",
        "domain": {"name": "InfernetCoordinator", "version": "1", "chainId": chain_id,
                   "verifyingContract": coordinator},
        "message": {"nonce": nonce, "expiry": expiry, "sub": sub},
    }


def sign_delegation(chain: ChainSession, key: str, nonce: int, expiry: int,
                    sub: dict[str, Any]) -> tuple[int, bytes, bytes]:
    message = typed_delegation(chain.deployment.chain_id, chain.deployment.coordinator,
                               nonce, expiry, sub)
    signed = Account.sign_typed_data(key, full_message=message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def delegated_subscription(chain: ChainSession, *, active_at: int, frequency: int = 1,
                           period: int = 0, redundancy: int = 1) -> dict[str, Any]:
    return {
        "owner": chain.deployment.delegator_consumer, "activeAt": active_at, "period": period,
        "frequency": frequency, "redundancy": redundancy, "containerId": CONTAINER_HASH,
        "lazy": False, "verifier": ZERO, "paymentAmount": 0, "paymentToken": ZERO,
        "wallet": ZERO,
    }


def as_tuple(sub: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sub[name] for name, _ in SUBSCRIPTION_FIELDS)


def eth_balance(chain: ChainSession, address: str) -> int:
    return int(chain.w3.eth.get_balance(address))
