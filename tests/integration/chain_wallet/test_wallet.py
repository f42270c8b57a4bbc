"""The wallet actor on a real anvil: delivery, simulation, gas cap, idempotent keys and
a nonce used behind its back."""

from __future__ import annotations

from pathlib import Path

import pytest

import actors.wallet
from node.chain import seed_load
from node.chain.deployment import Sender
from tests.chain_support import CONSUMER_KEY, NODE_KEY, ChainSession
from tests.integration.chain_wallet.harness import (
    REQUESTER,
    deliver_call,
    running_wallet,
    wait_until,
)

pytestmark = pytest.mark.chain

MISSING_SUBSCRIPTION = 4_000_000


def callback_ids(chain: ChainSession, count: int) -> tuple[int, ...]:
    return seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY,
                                              count).ids


def test_a_delivery_is_simulated_sent_and_mined(chain: ChainSession, db_path: Path) -> None:
    (sub_id,) = callback_ids(chain, 1)
    to, data = deliver_call(chain, sub_id)
    with running_wallet(chain.anvil.rpc_url, db_path, gas_margin=1.5) as wallet:
        calls_before = wallet.rpc.calls
        wallet.send(f"sub:{sub_id}:1", to, data)
        outcome = wallet.outcomes.wait_for({f"sub:{sub_id}:1"})[f"sub:{sub_id}:1"]
        calls = wallet.rpc.calls - calls_before

    assert outcome.status == "mined", outcome
    receipt = chain.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 1 and receipt["blockNumber"] == outcome.block_number
    assert receipt["gasUsed"] == outcome.gas_used
    tx = chain.w3.eth.get_transaction(outcome.tx_hash)  # type: ignore[arg-type]
    assert tx["from"] == chain.node
    # The estimate plus the margin, not the raw estimate.
    assert tx["gas"] >= outcome.gas_used * 3 // 2 - 1
    load = chain.contract("LoadConsumer", chain.deployment.load_consumer).functions
    assert load.deliveryCount().call() == 1
    assert calls <= 6, f"{calls} RPC calls for one delivery"


def test_a_failed_simulation_is_decoded_and_nothing_is_sent(chain: ChainSession,
                                                           db_path: Path) -> None:
    to, data = deliver_call(chain, MISSING_SUBSCRIPTION)
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        wallet.send("sub:missing:1", to, data)
        outcome = wallet.outcomes.wait_for({"sub:missing:1"})["sub:missing:1"]
        assert wallet.store.attempts("sub:missing:1") == []

    assert outcome.status == "simulation_failed"
    assert outcome.revert_name == "SubscriptionNotFound"
    assert outcome.revert_class == "terminal_subscription"
    assert outcome.tx_hash is None
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce


def test_an_allowed_simulation_error_sends_with_the_gas_cap(chain: ChainSession,
                                                           db_path: Path) -> None:
    to, data = deliver_call(chain, MISSING_SUBSCRIPTION)
    with running_wallet(chain.anvil.rpc_url, db_path, max_gas_limit=654_321,
                        allowed_sim_errors=("subscriptionNOTfound",)) as wallet:
        wallet.send("sub:allowed:1", to, data)
        outcome = wallet.outcomes.wait_for({"sub:allowed:1"})["sub:allowed:1"]

    assert outcome.status == "reverted", outcome
    assert outcome.revert_name == "SubscriptionNotFound"
    tx = chain.w3.eth.get_transaction(outcome.tx_hash)  # type: ignore[arg-type]
    assert tx["gas"] == 654_321


def test_gas_is_capped_at_max_gas_limit(chain: ChainSession, db_path: Path) -> None:
    (sub_id,) = callback_ids(chain, 1)
    to, data = deliver_call(chain, sub_id)
    estimate = chain.w3.eth.estimate_gas({"from": chain.node, "to": to, "data": data})
    cap = estimate + 1_000  # below estimate * margin, still enough to succeed
    with running_wallet(chain.anvil.rpc_url, db_path, max_gas_limit=cap,
                        gas_margin=2.0) as wallet:
        wallet.send("capped", to, data)
        outcome = wallet.outcomes.wait_for({"capped"})["capped"]
    assert outcome.status == "mined"
    assert chain.w3.eth.get_transaction(outcome.tx_hash)["gas"] == cap  # type: ignore[arg-type]


def test_a_key_sends_once_and_its_outcome_is_told_again(chain: ChainSession,
                                                       db_path: Path) -> None:
    (sub_id,) = callback_ids(chain, 1)
    to, data = deliver_call(chain, sub_id)
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        wallet.send("once", to, data)
        wallet.send("once", to, data)  # still in flight: no second transaction
        first = wallet.outcomes.wait_for({"once"})["once"]
        wallet.status()
        assert len(wallet.outcomes.for_key("once")) == 1

        wallet.send("once", to, data)  # decided: the stored outcome again
        wallet.status()
        assert wallet.outcomes.for_key("once") == [first, first]
        assert len(wallet.store.attempts("once")) == 1

    # A restarted wallet remembers the key too.
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        wallet.send("once", to, data)
        assert wallet.outcomes.wait_for({"once"})["once"] == first

    assert first.status == "mined"
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + 1


def test_a_nonce_used_behind_the_wallets_back_is_resynced(chain: ChainSession,
                                                         db_path: Path) -> None:
    ids = callback_ids(chain, 2)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        before = wallet.status().next_nonce
        # Someone else signs with the node key and takes the wallet's next nonce.
        outsider = Sender(chain.w3, NODE_KEY)
        assert outsider.nonce == before
        outsider.wait([outsider.send(to=chain.consumer, value=1, gas=21_000)], "outsider")

        keys = {f"sub:{i}:1" for i in ids}
        for sub_id in ids:
            wallet.send(f"sub:{sub_id}:1", *deliver_call(chain, sub_id))
        outcomes = wallet.outcomes.wait_for(keys)

    assert {o.status for o in outcomes.values()} == {"mined"}
    nonces = {chain.w3.eth.get_transaction(o.tx_hash)["nonce"]  # type: ignore[arg-type]
              for o in outcomes.values()}
    assert nonces == {before + 1, before + 2}
    assert chain.w3.eth.get_transaction_count(chain.node) == before + 3


def test_an_outcome_is_told_again_once_the_requester_is_back(
        chain: ChainSession, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actors.wallet, "REDELIVER_EVERY", 0.1)
    (sub_id,) = callback_ids(chain, 1)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        wallet.directory.unregister(REQUESTER)
        wallet.send("late", *deliver_call(chain, sub_id))
        decided = wait_until(lambda: (r := wallet.store.get("late")) and r.state == "mined"
                             and r, what="the transaction mined")
        assert not decided.notified and wallet.outcomes.for_key("late") == []
        wallet.directory.register(REQUESTER, wallet.inbox)
        outcome = wallet.outcomes.wait_for({"late"}, timeout=10)["late"]
        wait_until(lambda: wallet.store.get("late").notified,  # type: ignore[union-attr]
                   what="the outcome marked as told")
    assert (outcome.status, outcome.tx_hash) == ("mined", decided.tx_hash)
