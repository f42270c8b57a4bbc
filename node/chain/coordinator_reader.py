"""The three chain reads the subscription poller is built on, behind one object.

The poller reads the Coordinator's id counter, subscriptions in id ranges through
the Reader contract's batch getter, and the Coordinator's subscription logs over
block ranges. Keeping these RPC-facing calls here leaves the actor with its state
machine only, and gives tests one place to stand in for the chain.
"""

from __future__ import annotations

from typing import Any, Protocol

from node.chain import contracts
from node.chain.coordinator_events import SubscriptionEvent, subscription_events
from node.chain.rpc_types import Rpc
from node.chain.subscription import Subscription


class LogRpc(Rpc, Protocol):
    def get_logs(self, address: str | list[str], topics: list[str | list[str] | None],
                 from_block: int, to_block: int) -> list[dict[str, Any]]: ...


class CoordinatorReader:
    def __init__(self, rpc: LogRpc, coordinator: str, reader: str) -> None:
        self.rpc = rpc
        self.coordinator = contracts.Coordinator(rpc, coordinator)
        self.reader = contracts.Reader(rpc, reader)

    def next_id(self, block: int) -> int:
        """The Coordinator's id counter: the id the next subscription will get."""
        return self.coordinator.next_id(block)

    def subscriptions(self, start: int, end: int, block: int) -> list[Subscription]:
        """Ids ``start`` <= id < ``end`` (end exclusive, never reversed; an empty range
        costs no call)."""
        if end <= start:
            return []
        return self.reader.read_subscription_batch(start, end, block)

    def events(self, from_block: int, to_block: int) -> list[SubscriptionEvent]:
        """Subscriptions created, cancelled and fulfilled in blocks from_block..to_block."""
        topics: list[str | list[str] | None] = [list(contracts.SUBSCRIPTION_EVENT_TOPICS)]
        logs = self.rpc.get_logs(self.coordinator.address, topics, from_block, to_block)
        return subscription_events(logs)
