"""Subscription lifecycle: creation, interval math, delivery checks, redundancy,
cancellation, callback requests and Reader batch reads."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from node.chain.deployment import Sender, encode_deploy
from tests.chain_support import ANVIL_ADDRESSES, DEPLOYER_KEY, ChainSession
from tests.contracts.helpers import (
    CANCELLED,
    CONTAINER_HASH,
    ZERO,
    callback_consumer,
    coordinator_logs,
    create_subscription,
    created_ids,
    deliver,
    deliver_error,
    interval_key,
    node_key,
    request_callback,
    subscription,
    subscription_consumer,
    topic_hex,
)

pytestmark = pytest.mark.chain

SUBSCRIPTION_CREATED = "0x04344ed7a67fec80c444d56ee1cee242f3f75b91fecc8dbce8890069c82eb48e"
SUBSCRIPTION_FULFILLED = "0xc68fb0ae5cea2793405d29014d881bcda18f67122e0bcd7d0a577e118b64e4c8"
SUBSCRIPTION_CANCELLED = "0xf4126e31c182db4c4109605c6d50470fc7e8ca90d62d44fd25cbe049fb9cac3e"
OTHER_NODE = ANVIL_ADDRESSES[3]
THIRD_NODE = ANVIL_ADDRESSES[4]


def test_create_stores_the_subscription_and_assigns_ids(chain: ChainSession) -> None:
    first = chain.coordinator.functions.id().call()
    sub_id = create_subscription(chain, frequency=5, period=60, redundancy=2, lazy=True)
    created_at = chain.now()

    assert sub_id == first
    assert chain.coordinator.functions.id().call() == first + 1
    assert subscription(chain, sub_id) == {
        "owner": chain.deployment.subscription_consumer, "activeAt": created_at + 60,
        "period": 60, "frequency": 5, "redundancy": 2, "containerId": CONTAINER_HASH,
        "lazy": True, "verifier": ZERO, "paymentAmount": 0, "paymentToken": ZERO,
        "wallet": ZERO,
    }


def test_subscription_created_event_has_the_spec_topic(chain: ChainSession) -> None:
    fn = subscription_consumer(chain).functions.createSubscription(
        "a,b", 1, 0, 1, False, ZERO, 0, ZERO, ZERO)
    receipt = chain.transact(fn, chain.consumer)
    log = coordinator_logs(chain, receipt)[0]
    assert topic_hex(log["topics"][0]) == SUBSCRIPTION_CREATED
    sub_id = int.from_bytes(log["topics"][1], "big")
    expected = "0deeac3a841600829c99f8116bb997da266d4c47a720b00e6ace9594de82dd54"
    assert subscription(chain, sub_id)["containerId"].hex() == expected


def test_unknown_subscription_reads_as_zero_and_cannot_be_delivered(chain: ChainSession) -> None:
    assert subscription(chain, 999)["owner"] == ZERO
    assert deliver_error(chain, 999, 1, chain.node) == "SubscriptionNotFound"


def test_interval_math_follows_period(chain: ChainSession) -> None:
    coordinator = chain.coordinator.functions
    assert coordinator.getSubscriptionInterval(chain.now() + 1000, 0).call() == 1
    active_at = chain.now() + 10
    chain.mine_at(active_at + 50)
    assert coordinator.getSubscriptionInterval(active_at, 100).call() == 1
    chain.mine_at(active_at + 150)
    assert coordinator.getSubscriptionInterval(active_at, 100).call() == 2
    chain.mine_at(active_at + 1050)
    assert coordinator.getSubscriptionInterval(active_at, 100).call() == 11


def test_delivery_before_active_at_is_rejected(chain: ChainSession) -> None:
    sub_id = create_subscription(chain, frequency=3, period=100)
    assert deliver_error(chain, sub_id, 1, chain.node) == "SubscriptionNotActive"


def test_delivery_for_another_interval_is_a_mismatch(chain: ChainSession) -> None:
    sub_id = create_subscription(chain, frequency=3, period=100)
    active_at = subscription(chain, sub_id)["activeAt"]
    chain.mine_at(active_at + 150)
    assert deliver_error(chain, sub_id, 1, chain.node) == "IntervalMismatch"
    assert deliver_error(chain, sub_id, 3, chain.node) == "IntervalMismatch"
    deliver(chain, sub_id, 2, chain.node)


def test_frequency_bounds_the_intervals(chain: ChainSession) -> None:
    sub_id = create_subscription(chain, frequency=2, period=100)
    active_at = subscription(chain, sub_id)["activeAt"]
    chain.mine_at(active_at + 50)
    deliver(chain, sub_id, 1, chain.node)
    chain.mine_at(active_at + 150)
    deliver(chain, sub_id, 2, chain.node)
    chain.mine_at(active_at + 250)
    assert deliver_error(chain, sub_id, 3, chain.node) == "SubscriptionCompleted"


def test_redundancy_counts_distinct_nodes_per_interval(chain: ChainSession) -> None:
    sub_id = create_subscription(chain, frequency=2, period=100, redundancy=2)
    active_at = subscription(chain, sub_id)["activeAt"]
    chain.mine_at(active_at + 10)

    deliver(chain, sub_id, 1, chain.node)
    assert deliver_error(chain, sub_id, 1, chain.node) == "NodeRespondedAlready"
    deliver(chain, sub_id, 1, OTHER_NODE)
    assert deliver_error(chain, sub_id, 1, THIRD_NODE) == "IntervalCompleted"

    functions = chain.coordinator.functions
    assert functions.redundancyCount(interval_key(sub_id, 1)).call() == 2
    assert functions.nodeResponded(node_key(sub_id, 1, chain.node)).call()
    assert not functions.nodeResponded(node_key(sub_id, 1, THIRD_NODE)).call()
    recorded = subscription_consumer(chain).functions
    count = recorded.deliveryCount().call()
    assert [recorded.getDelivery(i).call()[2] for i in range(count)] == [1, 2]

    # Every interval has its own count.
    chain.mine_at(active_at + 110)
    deliver(chain, sub_id, 2, chain.node)
    assert functions.redundancyCount(interval_key(sub_id, 2)).call() == 1


def test_mapping_keys_match_the_spec_vectors() -> None:
    expected = "f2c49132ed1cee2a7e75bde50d332a2f81f1d01e5456d8a19d1df09bd561dbd2"
    assert interval_key(7, 3).hex() == expected
    assert node_key(7, 3, ZERO) == keccak(abi_encode(["uint32", "uint32", "address"], [7, 3, ZERO]))


def test_cancel_is_owner_only_and_stops_deliveries(chain: ChainSession) -> None:
    sub_id = create_subscription(chain, frequency=10, period=100)
    assert chain.revert_of(chain.coordinator.functions.cancelSubscription(sub_id),
                           chain.consumer) == "NotSubscriptionOwner"

    consumer = subscription_consumer(chain).functions
    receipt = chain.transact(consumer.cancelSubscription(sub_id), chain.consumer)
    logs = coordinator_logs(chain, receipt)
    assert [topic_hex(log["topics"][0]) for log in logs] == [SUBSCRIPTION_CANCELLED]
    assert subscription(chain, sub_id)["activeAt"] == CANCELLED
    chain.mine_at(chain.now() + 1000)
    assert deliver_error(chain, sub_id, 10, chain.node) == "SubscriptionNotActive"

    # Cancelling again still emits the event.
    again = chain.transact(consumer.cancelSubscription(sub_id), chain.consumer)
    event = chain.coordinator.events.SubscriptionCancelled()
    cancelled = event.process_receipt(again, errors=DISCARD)
    assert [e["args"]["id"] for e in cancelled] == [sub_id]


def test_callback_request_is_served_once_with_its_inputs(chain: ChainSession) -> None:
    sub_id = request_callback(chain, b"\x01\x02 request")
    sub = subscription(chain, sub_id)
    assert (sub["activeAt"], sub["period"], sub["frequency"]) == (chain.now(), 0, 1)
    consumer = callback_consumer(chain).functions
    inputs = consumer.getContainerInputs(sub_id, 1, chain.now(), chain.node).call()
    assert inputs == b"\x01\x02 request"

    receipt = deliver(chain, sub_id, 1, chain.node, output=b"result", proof=b"proof")
    fulfilled = coordinator_logs(chain, receipt)
    assert topic_hex(fulfilled[-1]["topics"][0]) == SUBSCRIPTION_FULFILLED
    assert int.from_bytes(fulfilled[-1]["topics"][2], "big") == int(chain.node, 16)

    delivery = consumer.getDelivery(consumer.deliveryCount().call() - 1).call()
    assert tuple(delivery) == (
        sub_id, 1, 1, chain.node, b"input", b"result", b"proof", bytes(32), 0)
    assert deliver_error(chain, sub_id, 1, OTHER_NODE) == "IntervalCompleted"


def test_consumer_accepts_callbacks_only_from_the_coordinator(chain: ChainSession) -> None:
    fn = callback_consumer(chain).functions.rawReceiveCompute(
        1, 1, 1, chain.node, b"", b"", b"", bytes(32), 0)
    assert chain.revert_of(fn, chain.node) == "NotCoordinator"


def test_reader_batches_subscriptions_and_redundancy_counts(chain: ChainSession) -> None:
    ids = [create_subscription(chain, frequency=i + 1, period=0) for i in range(3)]
    deliver(chain, ids[1], 1, chain.node)
    reader = chain.contract("Reader", chain.deployment.reader).functions

    batch = reader.readSubscriptionBatch(ids[0], ids[-1] + 2).call()
    assert len(batch) == 4  # end exclusive
    assert [list(s) for s in batch[:3]] == [
        list(chain.coordinator.functions.getSubscription(i).call()) for i in ids]
    assert batch[3][0] == ZERO  # not created yet: zero struct
    assert reader.readRedundancyCountBatch(ids, [1, 1, 1]).call() == [0, 1, 0]
    with pytest.raises(ContractLogicError):
        reader.readSubscriptionBatch(5, 4).call()


def test_delivery_cannot_be_reentered_from_the_callback(chain: ChainSession) -> None:
    sender = Sender(chain.w3, DEPLOYER_KEY)
    tx = sender.send(data=encode_deploy("ReentrantConsumer", [chain.deployment.registry]),
                     gas=3_000_000)
    address = sender.wait([tx], "deploying ReentrantConsumer")[0]["contractAddress"]
    consumer = chain.contract("ReentrantConsumer", address)
    receipt = chain.transact(consumer.functions.requestCompute("hello-world", 2), chain.consumer)
    [sub_id] = created_ids(chain, receipt)
    assert deliver_error(chain, sub_id, 1, chain.node) == "Reentrancy"
