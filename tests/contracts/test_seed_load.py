"""The seeded-load helpers create many subscriptions and requests quickly, and what
they create is real (readable in batches, deliverable)."""

from __future__ import annotations

import pytest

from node.chain import seed_load
from tests.chain_support import CONSUMER_KEY, ChainSession
from tests.contracts.helpers import CONTAINER_HASH, deliver

pytestmark = pytest.mark.chain


def test_batched_subscriptions_are_created_and_readable(chain: ChainSession) -> None:
    first = chain.coordinator.functions.id().call()
    result = seed_load.create_subscriptions(chain.w3, chain.deployment, CONSUMER_KEY, 1000,
                                            frequency=10, period=60, redundancy=2)
    assert result.ids == tuple(range(first, first + 1000))
    assert result.transactions == 5
    assert result.owner == chain.deployment.load_consumer

    reader = chain.contract("Reader", chain.deployment.reader).functions
    batch = reader.readSubscriptionBatch(first, first + 1000).call()
    assert {(s[0], s[2], s[3], s[4], s[5]) for s in batch} == {
        (chain.deployment.load_consumer, 60, 10, 2, CONTAINER_HASH)}


def test_batched_callback_requests_are_active_and_deliverable(chain: ChainSession) -> None:
    request = seed_load.CallbackRequest(inputs=b"shared inputs")
    result = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY, 250,
                                                request, batch_size=100)
    assert len(result.ids) == 250
    assert result.transactions == 3
    load = chain.contract("LoadConsumer", chain.deployment.load_consumer).functions
    assert load.getContainerInputs(result.ids[-1], 1, 0, chain.node).call() == b"shared inputs"
    for sub_id in result.ids[:3]:
        deliver(chain, sub_id, 1, chain.node)
    assert load.deliveryCount().call() == 3


def test_a_burst_of_separate_requests_keeps_each_input(chain: ChainSession) -> None:
    result = seed_load.send_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY, 120,
                                              seed_load.CallbackRequest(inputs=b"burst"))
    assert len(set(result.ids)) == result.transactions == 120
    consumer = chain.contract("ExampleCallbackConsumer", chain.deployment.callback_consumer)
    inputs = {consumer.functions.getContainerInputs(i, 1, 0, chain.node).call()
              for i in result.ids}
    assert inputs == {b"burst"}


def test_bad_counts_are_rejected(chain: ChainSession) -> None:
    with pytest.raises(ValueError, match="count"):
        seed_load.create_subscriptions(chain.w3, chain.deployment, CONSUMER_KEY, -1)
    assert seed_load.create_callback_requests(
        chain.w3, chain.deployment, CONSUMER_KEY, 0).ids == ()
