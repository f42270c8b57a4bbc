"""The wallet following the subscription poller's heads (``HeadSeen``) on a real anvil:
a delivery the poller's logs show is settled with no receipt, nonce or head read of
its own; one that reverted (no logs) is looked up once the logs pass its block; a
silent poller leaves the wallet polling the chain itself."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors.wallet
from actors.base import ChildContext
from actors.chain_poller import SubscriptionPollerActor
from node.chain import seed_load
from node.chain.rpc import HttpRpc
from node.chain.wallet_messages import TransactionOutcome
from node.store.chain_db import ChainDb
from tests.chain_support import CONSUMER_KEY, ChainSession
from tests.integration.chain_poller.support import MessageLog, Recorder
from tests.integration.chain_wallet.harness import (
    Wallet,
    deliver_call,
    running_wallet,
    wait_until,
)

pytestmark = pytest.mark.chain

MISSING_SUBSCRIPTION = 4_000_000
CONSUMER = "poller-consumer"


@contextlib.contextmanager
def feeding_poller(chain: ChainSession, wallet: Wallet, db_path: Path, *,
                   trail: int = 0) -> Iterator[None]:
    """A poller on the wallet's directory telling it every head; returns once the wallet
    follows them."""
    consumer = Recorder.start(ChildContext(CONSUMER, 1, wallet.directory, wallet.failures.append),
                              MessageLog())
    wallet.directory.register(CONSUMER, consumer)
    rpc = HttpRpc(chain.anvil.rpc_url)
    db = ChainDb(str(db_path.with_name("poller.sqlite3")))
    poller = SubscriptionPollerActor.start(
        ChildContext("poller", 1, wallet.directory, wallet.failures.append), rpc=rpc,
        coordinator_address=chain.deployment.coordinator,
        reader_address=chain.deployment.reader, db=db, consumer=CONSUMER,
        trail_head_blocks=trail, batch_sleep=0.01, sync_period=0.05, head_listener="wallet")
    try:
        wait_until(lambda: wallet.status().fed, 20, "the wallet to follow the poller")
        yield
    finally:
        poller.stop(timeout=10)
        consumer.stop(timeout=10)
        db.close()
        rpc.close()


def new_delivery(chain: ChainSession) -> tuple[str, tuple[str, bytes]]:
    (sub_id,) = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY,
                                                   1).ids
    return f"sub:{sub_id}:1", deliver_call(chain, sub_id)


def send_and_count(wallet: Wallet, key: str, to: str,
                   data: bytes) -> tuple[TransactionOutcome, dict[str, int]]:
    """The outcome of one transaction, and the wallet's RPC calls by method until then."""
    before = wallet.rpc.calls_by_method
    wallet.send(key, to, data)
    outcome = wallet.outcomes.wait_for({key})[key]
    spent = Counter(wallet.rpc.calls_by_method)
    spent.subtract(before)
    return outcome, dict(+spent)


def test_a_delivery_the_pollers_logs_show_is_settled_without_reading_receipts(
        chain: ChainSession, db_path: Path) -> None:
    key, (to, data) = new_delivery(chain)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet, \
            feeding_poller(chain, wallet, db_path):
        outcome, spent = send_and_count(wallet, key, to, data)

    assert outcome.status == "mined", outcome
    receipt = chain.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 1 and receipt["blockNumber"] == outcome.block_number
    assert outcome.gas_used is None  # no receipt was read
    # The simulation and the send; fees came from the poller's head and a cached tip.
    assert spent == {"eth_estimateGas": 1, "eth_sendRawTransaction": 1}, spent


def test_a_delivery_that_reverted_is_looked_up_once_the_logs_pass_it(chain: ChainSession,
                                                                db_path: Path) -> None:
    to, data = deliver_call(chain, MISSING_SUBSCRIPTION)
    with running_wallet(chain.anvil.rpc_url, db_path,
                        allowed_sim_errors=("subscriptionNOTfound",)) as wallet, \
            feeding_poller(chain, wallet, db_path):
        outcome, spent = send_and_count(wallet, "sub:reverts:1", to, data)

    assert outcome.status == "reverted", outcome
    assert outcome.revert_name == "SubscriptionNotFound"
    receipt = chain.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 0 and receipt["gasUsed"] == outcome.gas_used
    # Once the logs covered its block without it: the nonce as of that block, then the
    # receipt; the head came from the poller.
    assert spent.get("eth_getTransactionCount") == 1, spent
    assert spent.get("eth_getTransactionReceipt") == 1, spent
    assert "eth_blockNumber" not in spent, spent


def test_a_silent_poller_leaves_the_wallet_polling_the_chain_itself(chain: ChainSession,
                                                                    db_path: Path) -> None:
    key, (to, data) = new_delivery(chain)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        with feeding_poller(chain, wallet, db_path):
            pass
        wait_until(lambda: not wallet.status().fed, 20, "the wallet to notice the silence")
        outcome, spent = send_and_count(wallet, key, to, data)

    assert outcome.status == "mined", outcome
    receipt = chain.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    assert receipt["gasUsed"] == outcome.gas_used
    assert spent.get("eth_blockNumber", 0) >= 1 and spent.get("eth_getTransactionReceipt"), spent


def test_logs_held_back_on_a_chain_that_stopped_are_not_waited_for(
        chain: ChainSession, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Automine makes no block after the delivery's: with two trailing blocks the poller's
    # logs never reach it, so the wallet looks it up itself once its patience is over.
    monkeypatch.setattr(actors.wallet, "LOGS_PATIENCE", 1.0)
    key, (to, data) = new_delivery(chain)
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet, \
            feeding_poller(chain, wallet, db_path, trail=2):
        outcome, spent = send_and_count(wallet, key, to, data)

    assert outcome.status == "mined", outcome
    receipt = chain.w3.eth.get_transaction_receipt(outcome.tx_hash)  # type: ignore[arg-type]
    assert receipt["gasUsed"] == outcome.gas_used  # from the receipt, not the logs
    assert chain.w3.eth.block_number == outcome.block_number  # no later block came
    assert "eth_blockNumber" not in spent, spent  # the poller still told the heads
