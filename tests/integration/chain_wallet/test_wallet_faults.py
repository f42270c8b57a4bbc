"""The wallet through a fault-injecting proxy in front of anvil: rate limits and
outages are waited out, a send refused for good fails its key and frees the nonce,
and a chain without EIP-1559 gets legacy transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.chain import seed_load
from tests.chain_support import ANVIL_KEYS, CONSUMER_KEY, ChainSession, running_anvil
from tests.integration.chain_wallet.harness import FaultyProxy, deliver_call, running_wallet

pytestmark = pytest.mark.chain


@pytest.fixture
def proxy(chain: ChainSession) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(chain.anvil.rpc_url)
    yield proxy
    proxy.close()


def new_delivery(chain: ChainSession) -> tuple[str, tuple[str, bytes]]:
    (sub_id,) = seed_load.create_callback_requests(chain.w3, chain.deployment, CONSUMER_KEY,
                                                   1).ids
    return f"sub:{sub_id}:1", deliver_call(chain, sub_id)


@pytest.mark.parametrize(("method", "status"), [
    ("eth_sendRawTransaction", 429), ("eth_estimateGas", 503),
    ("eth_getTransactionCount", 502), ("eth_blockNumber", 429),
])
def test_rate_limits_and_outages_are_waited_out(chain: ChainSession, proxy: FaultyProxy,
                                               db_path: Path, method: str,
                                               status: int) -> None:
    key, (to, data) = new_delivery(chain)
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    with running_wallet(proxy.url, db_path) as wallet:
        seen_before = proxy.seen[method]
        proxy.fail(method, times=2, status=status)
        wallet.send(key, to, data)
        outcome = wallet.outcomes.wait_for({key})[key]
        wallet.status()
        assert len(wallet.outcomes.for_key(key)) == 1
    assert outcome.status == "mined", outcome
    assert proxy.seen[method] - seen_before >= 3  # two refusals, then through
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + 1


def test_a_send_refused_for_good_fails_and_its_nonce_is_reused(
        chain: ChainSession, proxy: FaultyProxy, db_path: Path) -> None:
    refused_key, (to, data) = new_delivery(chain)
    next_key, (next_to, next_data) = new_delivery(chain)
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    with running_wallet(proxy.url, db_path) as wallet:
        proxy.fail("eth_sendRawTransaction",
                   error={"code": -32000, "message": "intrinsic gas too low"})
        wallet.send(refused_key, to, data)
        refused = wallet.outcomes.wait_for({refused_key})[refused_key]
        wallet.send(next_key, next_to, next_data)
        mined = wallet.outcomes.wait_for({next_key})[next_key]

    assert refused.status == "failed" and refused.tx_hash is not None
    assert "intrinsic gas too low" in (refused.error or "")
    assert mined.status == "mined"
    assert chain.w3.eth.get_transaction(mined.tx_hash)["nonce"] == nonce  # type: ignore[arg-type]
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + 1


def test_a_nonce_freed_behind_a_sent_transaction_is_filled(
        chain: ChainSession, proxy: FaultyProxy, db_path: Path) -> None:
    deliveries = dict(new_delivery(chain) for _ in range(2))
    nonce = chain.w3.eth.get_transaction_count(chain.node)
    with running_wallet(proxy.url, db_path) as wallet:
        # The first send is rate limited, the second goes out at the next nonce, and the
        # first one's retry is refused for good: its nonce is a hole below a sent one.
        proxy.fail("eth_sendRawTransaction", status=429)
        proxy.forward("eth_sendRawTransaction")
        proxy.fail("eth_sendRawTransaction",
                   error={"code": -32000, "message": "intrinsic gas too low"})
        for key, (to, data) in deliveries.items():
            wallet.send(key, to, data)
        outcomes = wallet.outcomes.wait_for(set(deliveries))

    assert sorted(o.status for o in outcomes.values()) == ["failed", "mined"]
    (mined,) = [o for o in outcomes.values() if o.status == "mined"]
    assert chain.w3.eth.get_transaction(mined.tx_hash)["nonce"] == nonce + 1  # type: ignore[arg-type]
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce + 2
    block = chain.w3.eth.get_block(mined.block_number, full_transactions=True)  # type: ignore[arg-type]
    filler = [tx for tx in block["transactions"] if tx["nonce"] == nonce  # type: ignore[index]
              and tx["from"] == chain.node]  # type: ignore[index]
    assert filler and filler[0]["to"] == chain.node and filler[0]["value"] == 0  # type: ignore[index]


def test_a_chain_without_eip1559_gets_legacy_transactions(db_path: Path) -> None:
    with running_anvil(extra_args=("--hardfork", "berlin")) as anvil, \
            running_wallet(anvil.rpc_url, db_path) as wallet:
        recipient = anvil.web3().eth.account.from_key(ANVIL_KEYS[5]).address
        wallet.send("legacy", recipient, b"", value=12345)
        outcome = wallet.outcomes.wait_for({"legacy"})["legacy"]
        w3 = anvil.web3()
        tx = w3.eth.get_transaction(outcome.tx_hash)  # type: ignore[arg-type]
    assert outcome.status == "mined", outcome
    assert tx["type"] == 0 and tx["value"] == 12345 and "maxFeePerGas" not in tx
