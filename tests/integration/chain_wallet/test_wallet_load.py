"""Many transactions in flight with 1 s blocks, and a stuck transaction replaced."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.chain import seed_load
from tests.chain_support import CONSUMER_KEY, ChainSession
from tests.integration.chain_wallet.harness import deliver_call, running_wallet, wait_until

pytestmark = pytest.mark.chain

BURST = 100


@contextlib.contextmanager
def manual_mining(chain: ChainSession, interval: int = 0) -> Iterator[None]:
    """Automine off; blocks every ``interval`` s, or only on evm_mine when 0."""
    chain.rpc("evm_setAutomine", [False])
    if interval:
        chain.rpc("evm_setIntervalMining", [interval])
    try:
        yield
    finally:
        chain.rpc("evm_setIntervalMining", [0])
        chain.rpc("evm_setAutomine", [True])


@contextlib.contextmanager
def restored_base_fee(chain: ChainSession, base_fee: int) -> Iterator[None]:
    """anvil keeps the next block's base fee across evm_revert: put it back."""
    try:
        yield
    finally:
        chain.rpc("anvil_setNextBlockBaseFeePerGas", [hex(base_fee)])


def test_a_burst_of_100_deliveries_lands_several_per_block(chain: ChainSession,
                                                          db_path: Path) -> None:
    ids = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY,
                                             BURST).ids
    first_nonce = chain.w3.eth.get_transaction_count(chain.node)
    keys = {f"sub:{i}:1": i for i in ids}
    with manual_mining(chain, interval=1), \
            running_wallet(chain.anvil.rpc_url, db_path, poll_interval=0.2) as wallet:
        calls_before = wallet.rpc.calls
        for key, sub_id in keys.items():
            wallet.send(key, *deliver_call(chain, sub_id))
        outcomes = wallet.outcomes.wait_for(set(keys), timeout=40)
        calls = wallet.rpc.calls - calls_before

    assert Counter(o.status for o in outcomes.values()) == {"mined": BURST}
    txs = [chain.w3.eth.get_transaction(o.tx_hash) for o in outcomes.values()]  # type: ignore[arg-type]
    assert sorted(tx["nonce"] for tx in txs) == list(range(first_nonce, first_nonce + BURST))
    per_block = Counter(o.block_number for o in outcomes.values())
    assert max(per_block.values()) > 1, per_block
    print(f"deliveries per block {sorted(per_block.values(), reverse=True)};"
          f" {calls / BURST:.2f} RPC calls per delivery")
    load = chain.contract("LoadConsumer", chain.deployment.load_consumer).functions
    assert load.deliveryCount().call() == BURST
    assert calls / BURST <= 6, f"{calls} RPC calls for {BURST} deliveries"


def test_a_stuck_transaction_is_replaced_with_bumped_fees(chain: ChainSession,
                                                         db_path: Path) -> None:
    (sub_id,) = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY,
                                                   1).ids
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    base_fee = chain.w3.eth.get_block("latest")["baseFeePerGas"]  # type: ignore[typeddict-item]
    with restored_base_fee(chain, base_fee), manual_mining(chain), \
            running_wallet(chain.anvil.rpc_url, db_path, replace_after_blocks=2) as wallet:
        wallet.send("stuck", *deliver_call(chain, sub_id))
        first = wait_until(lambda: [a for a in wallet.store.attempts("stuck") if a.sent],
                           what="the first attempt sent")[0]
        assert first.fees.priority_fee is not None

        def price_out_and_mine() -> bool:
            # A base fee above the attempt's cap keeps it out of the block.
            chain.rpc("anvil_setNextBlockBaseFeePerGas", [hex(first.fees.max_fee * 4)])
            chain.rpc("evm_mine")
            attempts = wallet.store.attempts("stuck")
            return len(attempts) > 1 and attempts[-1].sent

        wait_until(price_out_and_mine, what="a replacement")
        chain.rpc("evm_mine")
        outcome = wallet.outcomes.wait_for({"stuck"})["stuck"]
        attempts = wallet.store.attempts("stuck")

    assert outcome.status == "mined"
    assert outcome.tx_hash == attempts[-1].tx_hash != first.tx_hash
    mined = chain.w3.eth.get_transaction(outcome.tx_hash)  # type: ignore[arg-type]
    assert mined["nonce"] == nonce
    assert mined["maxPriorityFeePerGas"] * 8 >= first.fees.priority_fee * 9
    assert mined["maxFeePerGas"] * 8 >= first.fees.max_fee * 9
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + 1
    assert {a.nonce for a in attempts} == {nonce}
    for attempt in attempts[:-1]:
        assert chain.rpc("eth_getTransactionReceipt", [attempt.tx_hash]) is None


def test_a_restarted_wallet_tracks_what_it_had_sent(chain: ChainSession,
                                                   db_path: Path) -> None:
    ids = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY, 3).ids
    keys = {f"sub:{i}:1": i for i in ids}
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    with manual_mining(chain):
        with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
            for key, sub_id in keys.items():
                wallet.send(key, *deliver_call(chain, sub_id))
            # Every key has a sent attempt (a key not yet signed has no attempts at all).
            wait_until(lambda: all(any(a.sent for a in wallet.store.attempts(k)) for k in keys)
                       and len(wallet.store.in_flight()) == len(keys), what="all sent")
            assert wallet.status().in_flight == len(keys)
        # Stopped with everything in the mempool; a new wallet picks the work up.
        with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
            status = wallet.status()
            assert (status.in_flight, status.next_nonce) == (len(keys), nonce + len(keys))
            chain.rpc("evm_mine")
            outcomes = wallet.outcomes.wait_for(set(keys))
            sends = wallet.rpc.calls_by_method.get("eth_sendRawTransaction", 0)
    assert {o.status for o in outcomes.values()} == {"mined"}
    assert sends == 0
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + len(keys)
