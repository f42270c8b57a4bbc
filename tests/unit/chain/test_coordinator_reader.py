"""The poller's chain reads against a stand-in RPC: calls made and answers decoded."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode

from node.chain import contracts
from node.chain.coordinator_reader import CoordinatorReader
from node.chain.subscription import Subscription

COORDINATOR = "0x" + "12" * 20
READER = "0x" + "34" * 20


def subscription(sub_id: int) -> Subscription:
    return Subscription(
        id=sub_id, owner=contracts.checksum("0x" + f"{sub_id:040x}"), active_at=100 + sub_id,
        period=60, frequency=3, redundancy=2, container_id=bytes([sub_id]) * 32,
        lazy=sub_id % 2 == 0, verifier=contracts.checksum("0x" + "00" * 20),
        payment_amount=sub_id * 10, payment_token=contracts.checksum("0x" + "56" * 20),
        wallet=contracts.checksum("0x" + "78" * 20))


class FakeRpc:
    """Answers readSubscriptionBatch from ``subs`` and eth_getLogs from ``logs``."""

    def __init__(self, subs: list[Subscription], logs: list[dict[str, Any]]) -> None:
        self.subs = {s.id: s for s in subs}
        self.logs = logs
        self.calls: list[tuple[str, bytes, object]] = []
        self.log_queries: list[tuple[object, ...]] = []

    def call(self, to: str, data: bytes, *, block: object = "latest", **_: object) -> bytes:
        self.calls.append((to, data, block))
        start, end = (int.from_bytes(data[4 + 32 * i:4 + 32 * (i + 1)], "big") for i in (0, 1))
        wanted = [contracts.subscription_tuple(self.subs[i]) for i in range(start, end)]
        return abi_encode([f"{contracts.SUBSCRIPTION_TUPLE}[]"], [wanted])

    def get_logs(self, address: str, topics: list[Any], from_block: int,
                 to_block: int) -> list[dict[str, Any]]:
        self.log_queries.append((address, topics, from_block, to_block))
        return self.logs


def created_log(sub_id: int, **fields: Any) -> dict[str, Any]:
    return {"topics": [contracts.SUBSCRIPTION_CREATED_TOPIC, f"0x{sub_id:064x}"], "data": "0x",
            "blockNumber": "0x5", "blockHash": "0x" + "aa" * 32,
            "transactionHash": "0x" + "bb" * 32, "logIndex": "0x0", **fields}


def test_subscriptions_come_back_with_their_ids_read_at_the_block() -> None:
    subs = [subscription(i) for i in range(1, 6)]
    rpc = FakeRpc(subs, [])
    chain = CoordinatorReader(rpc, COORDINATOR, READER)  # type: ignore[arg-type]
    assert chain.subscriptions(2, 5, block=11) == subs[1:4]
    ((to, data, block),) = rpc.calls
    assert (to, block) == (contracts.checksum(READER), 11)
    assert data[:4] == contracts.READ_SUBSCRIPTION_BATCH.selector


def test_an_empty_or_reversed_range_makes_no_call() -> None:
    rpc = FakeRpc([subscription(1)], [])
    chain = CoordinatorReader(rpc, COORDINATOR, READER)  # type: ignore[arg-type]
    assert chain.subscriptions(3, 3, block=1) == []
    assert chain.subscriptions(4, 2, block=1) == []
    assert rpc.calls == []


def test_events_ask_the_coordinator_for_the_three_topics_over_the_range() -> None:
    rpc = FakeRpc([], [created_log(8), created_log(9, removed=True)])
    chain = CoordinatorReader(rpc, COORDINATOR, READER)  # type: ignore[arg-type]
    events = chain.events(3, 7)
    assert [(e.kind, e.sub_id, e.block) for e in events] == [("created", 8, 5)]
    assert rpc.log_queries == [(contracts.checksum(COORDINATOR),
                                [contracts.SUBSCRIPTION_EVENT_TOPICS], 3, 7)]
