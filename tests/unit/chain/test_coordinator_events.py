"""Coordinator logs as the poller's flat subscription events."""

from __future__ import annotations

from typing import Any

import pytest

from node.chain import contracts
from node.chain.coordinator_events import SubscriptionEvent, subscription_event, subscription_events

NODE = "0x" + "Ab" * 20
BLOCK_HASH = "0x" + "CD" * 32
TX_HASH = "0x" + "EF" * 32


def log_entry(topic0: str, sub_id: int, *, block: int = 7, extra_topics: tuple[str, ...] = (),
              **fields: Any) -> dict[str, Any]:
    return {"topics": [topic0, f"0x{sub_id:064x}", *extra_topics], "data": "0x",
            "blockNumber": hex(block), "blockHash": BLOCK_HASH, "transactionHash": TX_HASH,
            "logIndex": "0x0", **fields}


def node_topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def test_created_and_cancelled_carry_id_block_and_lower_case_hashes() -> None:
    created = subscription_event(log_entry(contracts.SUBSCRIPTION_CREATED_TOPIC, 42, block=9))
    cancelled = subscription_event(log_entry(contracts.SUBSCRIPTION_CANCELLED_TOPIC, 43))
    assert created == SubscriptionEvent(kind="created", sub_id=42, block=9,
                                        block_hash=BLOCK_HASH.lower(), tx_hash=TX_HASH.lower())
    assert cancelled is not None and cancelled.kind == "cancelled" and cancelled.sub_id == 43


def test_fulfilled_names_the_node_and_takes_the_log_timestamp() -> None:
    event = subscription_event(log_entry(contracts.SUBSCRIPTION_FULFILLED_TOPIC, 5,
                                         extra_topics=(node_topic(NODE),),
                                         blockTimestamp="0x10"))
    assert event is not None
    assert (event.kind, event.node, event.timestamp) == ("fulfilled", contracts.checksum(NODE),
                                                         16)


def test_timestamp_is_none_when_the_rpc_leaves_it_out() -> None:
    event = subscription_event(log_entry(contracts.SUBSCRIPTION_CREATED_TOPIC, 1))
    assert event is not None and event.timestamp is None


def test_events_the_poller_does_not_follow_are_none() -> None:
    proof = log_entry(contracts.PROOF_VERIFIED_TOPIC, 1,
                      extra_topics=(f"0x{2:064x}", node_topic(NODE)),
                      data="0x" + f"{1:064x}" + "00" * 12 + "11" * 20 + f"{1:064x}")
    assert subscription_event(proof) is None


def test_a_foreign_log_is_an_error() -> None:
    with pytest.raises(ValueError):
        subscription_event(log_entry("0x" + "00" * 32, 1))


def test_removed_logs_and_other_events_are_dropped_in_order() -> None:
    logs = [log_entry(contracts.SUBSCRIPTION_CREATED_TOPIC, 3),
            log_entry(contracts.SUBSCRIPTION_CREATED_TOPIC, 4, removed=True),
            log_entry(contracts.PROOF_VERIFIED_TOPIC, 1,
                      extra_topics=(f"0x{2:064x}", node_topic(NODE)),
                      data="0x" + f"{0:064x}" * 3),
            log_entry(contracts.SUBSCRIPTION_CANCELLED_TOPIC, 2)]
    assert [(e.kind, e.sub_id) for e in subscription_events(logs)] == [("created", 3),
                                                                      ("cancelled", 2)]
