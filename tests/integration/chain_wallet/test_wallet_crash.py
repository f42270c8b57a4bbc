"""A wallet killed with SIGKILL between persisting an attempt and recording its send:
after a restart the transaction goes out once (same bytes, same hash) and its
outcome is delivered."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.chain import seed_load
from node.store.chain_db import ChainDb
from node.store.tx_store import TxStore
from tests.chain_support import CONSUMER_KEY, ChainSession
from tests.integration.chain_wallet.harness import deliver_call, running_wallet

pytestmark = pytest.mark.chain

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("mode", ["before-send", "after-send"])
def test_a_killed_wallet_sends_once_after_restart(chain: ChainSession, db_path: Path,
                                                 mode: str) -> None:
    (sub_id,) = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY,
                                                   1).ids
    to, data = deliver_call(chain, sub_id)
    key = f"sub:{sub_id}:1"
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.integration.chain_wallet.crash_wallet",
         chain.anvil.rpc_url, str(db_path), to, data.hex(), key, mode],
        cwd=REPO, timeout=60, capture_output=True, text=True)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]

    db = ChainDb(str(db_path))
    try:
        store = TxStore(db, chain.node)
        (saved,) = store.attempts(key)
        assert not saved.sent
        assert store.get(key).state == "signed"  # type: ignore[union-attr]
    finally:
        db.close()
    sent_before_restart = 1 if mode == "after-send" else 0
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + sent_before_restart

    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        outcome = wallet.outcomes.wait_for({key})[key]
        sends = wallet.rpc.calls_by_method.get("eth_sendRawTransaction", 0)
        attempts = wallet.store.attempts(key)

    assert outcome.status == "mined", outcome
    assert outcome.tx_hash == saved.tx_hash
    assert [a.tx_hash for a in attempts] == [saved.tx_hash]
    assert sends == 1  # the saved bytes, once
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + 1
    load = chain.contract("LoadConsumer", chain.deployment.load_consumer).functions
    assert load.deliveryCount().call() == 1
