"""Lazy subscriptions: outputs are stored in the Inbox and the consumer is told where."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from tests.chain_support import ChainSession
from tests.contracts.helpers import CONTAINER, CONTAINER_HASH, ZERO, created_ids, deliver

pytestmark = pytest.mark.chain


def _lazy_request(chain: ChainSession, inputs: bytes, redundancy: int = 1) -> int:
    consumer = chain.contract("ExampleLazyConsumer", chain.deployment.lazy_consumer)
    fn = consumer.functions.requestLazyCompute(CONTAINER, inputs, 1, 0, redundancy, ZERO, 0, ZERO,
                                               ZERO)
    return created_ids(chain, chain.transact(fn, chain.consumer))[0]


def test_lazy_delivery_goes_through_the_inbox(chain: ChainSession) -> None:
    sub_id = _lazy_request(chain, b"lazy inputs", redundancy=2)
    consumer = chain.contract("ExampleLazyConsumer", chain.deployment.lazy_consumer).functions
    assert consumer.getContainerInputs(sub_id, 1, 0, chain.node).call() == b"lazy inputs"
    inbox = chain.contract("Inbox", chain.deployment.inbox)

    receipts = [deliver(chain, sub_id, 1, chain.node, output=b"big output", proof=b"p")]
    later = _lazy_request(chain, b"again")
    receipts.append(deliver(chain, later, 1, chain.node, output=b"second"))

    events = [inbox.events.NewInboxItem().process_receipt(r, errors=DISCARD) for r in receipts]
    assert [(dict(e[0]["args"])) for e in events] == [
        {"containerId": CONTAINER_HASH, "node": chain.node, "index": i} for i in (0, 1)]
    item = inbox.functions.read(CONTAINER_HASH, chain.node, 0).call()
    timestamp = chain.w3.eth.get_block(receipts[0]["blockNumber"])["timestamp"]
    assert tuple(item) == (timestamp, sub_id, 1, b"input", b"big output", b"p")
    assert tuple(inbox.functions.items(CONTAINER_HASH, chain.node, 1).call())[1] == later

    # The consumer got (containerId, index) instead of the data, and read it back.
    first = consumer.getDelivery(0).call()
    assert (first[0], first[5], first[7], first[8]) == (sub_id, b"big output", CONTAINER_HASH, 0)


def test_anyone_may_write_but_only_the_coordinator_writes_for_subscriptions(
        chain: ChainSession) -> None:
    inbox = chain.contract("Inbox", chain.deployment.inbox).functions
    chain.transact(inbox.write(CONTAINER_HASH, b"i", b"o", b"p"), chain.consumer)
    assert tuple(inbox.read(CONTAINER_HASH, chain.consumer, 0).call())[1:] == (
        0, 0, b"i", b"o", b"p")
    via = inbox.writeViaCoordinator(CONTAINER_HASH, chain.node, 1, 1, b"", b"", b"")
    assert chain.revert_of(via, chain.consumer) == "NotCoordinator"
