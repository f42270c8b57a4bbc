"""Seeds a chain with many subscriptions or callback requests, fast, for load tests
and benchmarks (snapshot sync of 10,000 subscriptions, bursts of 100+ requests).

Batched helpers go through the suite's LoadConsumer, which creates up to
`batch_size` subscriptions per transaction; every transaction is signed with a
locally counted nonce and sent before any receipt is awaited. The LoadConsumer owns
the subscriptions it creates, so it receives their deliveries and serves one shared
input blob from getContainerInputs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from node.chain.deployment import ZERO_ADDRESS, Deployment, Sender, contract_at

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200
SUBSCRIPTION_CREATED = keccak(text="SubscriptionCreated(uint32)")
# Keep every batch well inside anvil's default 30M block gas limit.
MAX_BATCH_GAS = 20_000_000


@dataclass(frozen=True)
class Payment:
    """What each seeded subscription pays per delivery (defaults: nothing)."""

    token: str = ZERO_ADDRESS
    amount: int = 0
    wallet: str = ZERO_ADDRESS
    verifier: str = ZERO_ADDRESS


@dataclass(frozen=True)
class CallbackRequest:
    """One one-shot compute request: container chain, inputs, redundancy, payment."""

    container_id: str = "hello-world"
    inputs: bytes = b""
    redundancy: int = 1
    payment: Payment = Payment()


@dataclass(frozen=True)
class SeedResult:
    """Ids created (ascending), the contract owning them, and the transactions used."""

    ids: tuple[int, ...]
    owner: str
    transactions: int


def created_ids(receipts: Sequence[TxReceipt], coordinator: str) -> tuple[int, ...]:
    """Subscription ids from the Coordinator's SubscriptionCreated logs in `receipts`."""
    ids = []
    for receipt in receipts:
        for entry in receipt["logs"]:
            topics = entry["topics"]
            if entry["address"] == coordinator and bytes(topics[0]) == SUBSCRIPTION_CREATED:
                ids.append(int.from_bytes(bytes(topics[1]), "big"))
    return tuple(sorted(ids))


def _run_batches(w3: Web3, deployment: Deployment, sender_key: str, count: int,
                 batch_size: int, make_call: Callable[[int], ContractFunction]) -> SeedResult:
    if count < 0 or batch_size < 1:
        raise ValueError(f"count must be >= 0 and batch_size >= 1 (got {count}, {batch_size})")
    sender = Sender(w3, sender_key)
    batch_size = min(batch_size, max(count, 1))
    gas = 0
    while count and batch_size > 1:
        gas = make_call(batch_size).estimate_gas({"from": sender.address}) * 6 // 5
        if gas <= MAX_BATCH_GAS:
            break
        batch_size //= 2
    if count and batch_size == 1:
        gas = make_call(1).estimate_gas({"from": sender.address}) * 6 // 5

    tx_hashes = []
    remaining = count
    while remaining > 0:
        size = min(batch_size, remaining)
        tx_hashes.append(sender.call(make_call(size), gas=gas))
        remaining -= size
    receipts = sender.wait(tx_hashes, "seeding subscriptions")
    ids = created_ids(receipts, deployment.coordinator)
    log.info("seeded subscriptions",
             extra={"count": len(ids), "transactions": len(tx_hashes), "batch_size": batch_size})
    return SeedResult(ids=ids, owner=deployment.load_consumer, transactions=len(tx_hashes))


def create_subscriptions(
    w3: Web3,
    deployment: Deployment,
    sender_key: str,
    count: int,
    *,
    container_id: str = "hello-world",
    frequency: int = 1,
    period: int = 0,
    redundancy: int = 1,
    lazy: bool = False,
    payment: Payment = Payment(),
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SeedResult:
    """Creates `count` identical subscriptions owned by the LoadConsumer."""
    load = contract_at(w3, "LoadConsumer", deployment.load_consumer)

    def make_call(size: int) -> ContractFunction:
        return load.functions.createSubscriptions(
            container_id, size, frequency, period, redundancy, lazy, payment.token,
            payment.amount, payment.wallet, payment.verifier)

    return _run_batches(w3, deployment, sender_key, count, batch_size, make_call)


def create_callback_requests(
    w3: Web3,
    deployment: Deployment,
    sender_key: str,
    count: int,
    request: CallbackRequest = CallbackRequest(),
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SeedResult:
    """Creates `count` copies of `request` (active at once) owned by the LoadConsumer,
    all serving the same inputs."""
    load = contract_at(w3, "LoadConsumer", deployment.load_consumer)
    payment = request.payment

    def make_call(size: int) -> ContractFunction:
        return load.functions.requestComputes(
            request.container_id, request.inputs, size, request.redundancy, payment.token,
            payment.amount, payment.wallet, payment.verifier)

    return _run_batches(w3, deployment, sender_key, count, batch_size, make_call)


def send_callback_requests(
    w3: Web3,
    deployment: Deployment,
    sender_key: str,
    count: int,
    request: CallbackRequest = CallbackRequest(),
) -> SeedResult:
    """A burst of `count` separate transactions, each one ExampleCallbackConsumer
    request with its own stored inputs (as real users would send them)."""
    if count < 0:
        raise ValueError(f"count must be >= 0 (got {count})")
    consumer = contract_at(w3, "ExampleCallbackConsumer", deployment.callback_consumer)
    sender = Sender(w3, sender_key)
    payment = request.payment
    fn = consumer.functions.requestCompute(
        request.container_id, request.inputs, request.redundancy, payment.token,
        payment.amount, payment.wallet, payment.verifier)
    gas = fn.estimate_gas({"from": sender.address}) * 3 // 2 if count else 0
    tx_hashes = [sender.call(fn, gas=gas) for _ in range(count)]
    receipts = sender.wait(tx_hashes, "sending callback requests")
    ids = created_ids(receipts, deployment.coordinator)
    log.info("sent callback requests", extra={"count": len(ids)})
    return SeedResult(ids=ids, owner=deployment.callback_consumer, transactions=len(tx_hashes))
