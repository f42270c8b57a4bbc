"""HttpRpc against real anvil (reads, reverts, every pool error anvil can produce) and
against a scripted HTTP stub (429, 5xx, timeouts, garbage, dropped connections)."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from node.chain.contracts import Coordinator
from node.chain.reverts import decode_revert
from node.chain.rpc import HttpRpc, RateLimitedError
from node.chain.rpc_types import RpcError
from node.cli.registration import wait_for_receipt
from tests.chain_support import (
    ANVIL_KEYS,
    DEPLOYER_KEY,
    NODE_KEY,
    AnvilHandle,
    ChainSession,
    free_port,
    running_anvil,
)
from tests.integration.chain.conftest import StubServer, error_reply, json_reply

SINK = "0x000000000000000000000000000000000000dEaD"
GWEI = 10**9


def _raw(key: str, nonce: int, *, value: int = 0, gas: int = 21_000, max_fee: int = 50 * GWEI,
         tip: int = GWEI, chain_id: int = 31337) -> bytes:
    tx = {"chainId": chain_id, "nonce": nonce, "to": SINK, "value": value, "gas": gas,
          "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip, "data": b""}
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def _kind_of(fn: Any, *args: Any) -> RpcError:
    with pytest.raises(RpcError) as info:
        fn(*args)
    return info.value


# -- against anvil ---------------------------------------------------------------------

@pytest.mark.chain
def test_reads_match_web3(rpc: HttpRpc, chain: ChainSession) -> None:
    assert rpc.chain_id() == 31337
    before = rpc.calls
    assert rpc.chain_id() == 31337
    assert rpc.calls == before, "chain_id must be cached"

    latest = chain.w3.eth.get_block("latest")
    assert rpc.block_number() == latest["number"]
    block = rpc.block("latest")
    assert (block.number, block.hash, block.timestamp) == (
        latest["number"], "0x" + bytes(latest["hash"]).hex(), latest["timestamp"])
    assert block.parent_hash == "0x" + bytes(latest["parentHash"]).hex()
    assert block.base_fee == latest["baseFeePerGas"]
    assert rpc.block(0).number == 0
    assert rpc.balance(chain.node) == chain.w3.eth.get_balance(chain.node)
    deployer = chain.deployer
    assert rpc.nonce(deployer) == chain.w3.eth.get_transaction_count(deployer, "pending")
    assert rpc.gas_price() > 0

    before = rpc.calls
    fees = rpc.fee_suggestion()
    assert fees is not None
    max_fee, tip = fees
    assert max_fee >= 2 * (block.base_fee or 0) and 0 < tip <= max_fee
    assert rpc.calls == before + 1, "fee suggestion must be one batched request"
    assert rpc.calls_by_method["eth_blockNumber"] == 1
    assert rpc.calls_by_method["batch[eth_getBlockByNumber,eth_maxPriorityFeePerGas]"] == 1
    assert sum(rpc.calls_by_method.values()) == rpc.calls


@pytest.mark.chain
def test_future_block_is_retryable(rpc: HttpRpc) -> None:
    error = _kind_of(rpc.block, rpc.block_number() + 1000)
    assert error.retryable


@pytest.mark.chain
def test_revert_carries_the_custom_error(rpc: HttpRpc, chain: ChainSession) -> None:
    data = Coordinator.encode_deliver_compute(999, 1, b"", b"out", b"", chain.node)
    error = _kind_of(rpc.call, chain.deployment.coordinator, data)
    assert error.kind == "revert" and error.method == "eth_call"
    assert decode_revert(error.data or b"").name == "SubscriptionNotFound"

    error = _kind_of(rpc.estimate_gas, {"from": chain.node, "to": chain.deployment.coordinator,
                                        "data": data})
    assert error.kind == "revert"
    assert decode_revert(error.data or b"").name == "SubscriptionNotFound"


@pytest.mark.chain
def test_batch_call_is_one_request_with_per_call_outcomes(rpc: HttpRpc,
                                                          chain: ChainSession) -> None:
    coordinator = Coordinator(rpc, chain.deployment.coordinator)
    reverting = Coordinator.encode_deliver_compute(999, 1, b"", b"", b"", chain.node)
    before = rpc.calls
    results = rpc.batch_call([coordinator.next_id_call().pair,
                              (chain.deployment.coordinator, reverting),
                              coordinator.next_id_call().pair])
    assert rpc.calls == before + 1
    assert results[0] == results[2]
    assert isinstance(results[0], bytes) and int.from_bytes(results[0], "big") >= 1
    assert isinstance(results[1], RpcError) and results[1].kind == "revert"
    assert decode_revert(results[1].data or b"").name == "SubscriptionNotFound"
    assert rpc.batch_call([]) == []


@pytest.mark.chain
def test_send_errors_with_automine(rpc: HttpRpc, chain: ChainSession) -> None:
    assert _kind_of(rpc.send_raw, _raw(DEPLOYER_KEY, 0)).kind == "nonce_too_low"
    broke = Account.create().key.hex()
    assert _kind_of(rpc.send_raw, _raw(broke, 0, value=1)).kind == "insufficient_funds"
    nonce = rpc.nonce(chain.node)
    assert _kind_of(rpc.send_raw, _raw(NODE_KEY, nonce, max_fee=1, tip=1)).kind == "fee_too_low"
    assert _kind_of(rpc.send_raw, _raw(NODE_KEY, nonce, gas=20_000)).kind == "gas_limit"
    assert _kind_of(rpc.send_raw, _raw(NODE_KEY, nonce, gas=10**9)).kind == "gas_limit"
    assert _kind_of(rpc.request, "eth_noSuchMethod", []).kind == "unsupported"

    tx_hash = rpc.send_raw(_raw(NODE_KEY, nonce, value=5))
    receipt = wait_for_receipt(rpc, tx_hash, timeout=10)  # anvil mines a moment later
    assert (receipt.tx_hash, receipt.status, receipt.gas_used) == (tx_hash, 1, 21_000)
    assert receipt.block_number == rpc.block_number() and receipt.effective_gas_price > 0
    assert rpc.receipt("0x" + "00" * 32) is None


@pytest.fixture(scope="module")
def paused_anvil() -> Iterator[AnvilHandle]:
    with running_anvil(extra_args=("--no-mining",)) as anvil:
        yield anvil


@pytest.mark.chain
def test_pool_errors_without_mining(paused_anvil: AnvilHandle) -> None:
    rpc = HttpRpc(paused_anvil.rpc_url)
    key = ANVIL_KEYS[5]
    nonce = rpc.nonce(Account.from_key(key).address)
    first = _raw(key, nonce, value=1)
    tx_hash = rpc.send_raw(first)
    assert rpc.receipt(tx_hash) is None, "nothing is mined yet"
    assert _kind_of(rpc.send_raw, first).kind == "already_known"
    assert _kind_of(rpc.send_raw, _raw(key, nonce, value=2)).kind == "replacement_underpriced"
    bumped = rpc.send_raw(_raw(key, nonce, value=2, max_fee=56 * GWEI, tip=2 * GWEI))
    rpc.request("evm_mine", [])
    assert wait_for_receipt(rpc, bumped, timeout=10).status == 1
    assert _kind_of(rpc.send_raw, first).kind == "nonce_too_low"


# -- against a scripted stub -----------------------------------------------------------

def test_http_429_keeps_retry_after(stub: StubServer) -> None:
    stub.reply = lambda request: json_reply({"error": "slow down"}, status=429,
                                            headers={"Retry-After": "7"})
    error = _kind_of(HttpRpc(stub.url).block_number)
    assert isinstance(error, RateLimitedError)
    assert (error.kind, error.retry_after, error.retryable) == ("rate_limited", 7.0, True)

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    stub.reply = lambda request: json_reply({}, status=429, headers={"Retry-After": when})
    error = _kind_of(HttpRpc(stub.url).block_number)
    assert isinstance(error, RateLimitedError) and 25 <= (error.retry_after or 0) <= 30


@pytest.mark.parametrize("message", ["rate limit exceeded", "daily request quota exhausted",
                                     "Too Many Requests"])
def test_rate_limit_messages(stub: StubServer, message: str) -> None:
    stub.reply = lambda request: error_reply(request, {"code": -32005, "message": message})
    error = _kind_of(HttpRpc(stub.url).block_number)
    assert error.kind == "rate_limited" and getattr(error, "retry_after", 0) is None


@pytest.mark.parametrize(("status", "body"), [
    (503, b"<html>Service Unavailable</html>"),
    (502, b"bad gateway"),
    (500, b'{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"internal error"}}'),
])
def test_server_errors_are_unavailable(stub: StubServer, status: int, body: bytes) -> None:
    stub.reply = lambda request: (status, {"Content-Type": "text/html"}, body)
    error = _kind_of(HttpRpc(stub.url).block_number)
    assert (error.kind, error.retryable) == ("unavailable", True)


def test_garbage_answers_are_invalid(stub: StubServer) -> None:
    replies = iter([(200, {}, b"this is not json"), json_reply([1, 2]),
                    json_reply({"jsonrpc": "2.0", "id": 1}), json_reply({"result": "zz"})])
    stub.reply = lambda request: next(replies)
    rpc = HttpRpc(stub.url)
    for _ in range(4):
        assert _kind_of(rpc.block_number).kind == "invalid"


def test_timeout(stub: StubServer) -> None:
    def hang(request: Any) -> Any:
        stub.release.wait(10)
        return json_reply({"jsonrpc": "2.0", "id": request["id"], "result": "0x1"})
    stub.reply = hang
    error = _kind_of(HttpRpc(stub.url, timeout=0.3).block_number)
    stub.release.set()
    assert (error.kind, error.retryable) == ("timeout", True)


def test_connection_refused_and_dropped(stub: StubServer) -> None:
    refused = _kind_of(HttpRpc(f"http://127.0.0.1:{free_port()}").block_number)
    assert refused.kind == "unavailable"
    stub.reply = lambda request: (0, {}, b"")
    assert _kind_of(HttpRpc(stub.url).block_number).kind == "unavailable"


def test_connections_are_kept_alive_and_stale_ones_replaced(stub: StubServer) -> None:
    rpc = HttpRpc(stub.url)
    for _ in range(5):
        assert rpc.block_number() == 1
    assert (stub.connections, rpc.calls) == (1, 5)

    stub.close_after_reply = True  # the server drops idle connections behind our back
    for _ in range(3):
        assert rpc.block_number() == 1
    assert len(stub.requests) == 8


def test_concurrent_requests_share_a_bounded_pool(stub: StubServer) -> None:
    rpc = HttpRpc(stub.url, max_connections=3)
    errors: list[Exception] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert rpc.block_number() == 1
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert rpc.calls == len(stub.requests) == 160
    assert stub.connections <= 3


@pytest.mark.parametrize(("error", "expected"), [
    ({"code": 3, "message": "execution reverted", "data": "0xefb74efe"}, "efb74efe"),
    ({"code": -32000, "message": "execution reverted", "data": {"data": "0xefb74efe"}},
     "efb74efe"),
    ({"code": -32603, "message": "Error: VM Exception while processing transaction: reverted",
      "data": {"message": "reverted", "data": "0x4db310c3"}}, "4db310c3"),
    ({"code": -32000, "message": "execution reverted",
      "data": {"originalError": {"code": 3, "data": "0x88a21e4f", "message": "x"}}}, "88a21e4f"),
    ({"code": -32015, "message": "VM execution error.", "data": "Reverted 0x2f4ca85b"},
     "2f4ca85b"),
    ({"code": -32000, "message": "execution reverted"}, ""),
])
def test_revert_data_forms(stub: StubServer, error: dict[str, Any], expected: str) -> None:
    stub.reply = lambda request: error_reply(request, error)
    raised = _kind_of(HttpRpc(stub.url).call, SINK, b"")
    if error["code"] == -32015:
        # Nethermind says "Reverted" only in data; the message has no "revert" word.
        assert raised.kind == "other"
        return
    assert raised.kind == "revert"
    assert (raised.data or b"").hex() == expected


@pytest.mark.parametrize(("message", "kind"), [
    ("nonce too low: next nonce 5, tx nonce 3", "nonce_too_low"),
    ("nonce too high", "nonce_too_high"),
    ("already known", "already_known"),
    ("known transaction: 0xabc", "already_known"),
    ("AlreadyKnown", "already_known"),
    ("replacement transaction underpriced", "replacement_underpriced"),
    ("max fee per gas less than block base fee: address 0x, maxFeePerGas: 1 baseFee: 7",
     "fee_too_low"),
    ("insufficient funds for gas * price + value: balance 0", "insufficient_funds"),
    ("intrinsic gas too low", "gas_limit"),
    ("exceeds block gas limit", "gas_limit"),
    ("the method eth_newFilter does not exist/is not available", "unsupported"),
    ("OldNonce", "nonce_too_low"),
    ("NonceGap", "nonce_too_high"),
    ("FeeTooLowToCompete", "replacement_underpriced"),
    ("FeeTooLow", "fee_too_low"),
    ("transaction underpriced", "fee_too_low"),
    ("InsufficientFunds, Balance is zero", "insufficient_funds"),
    ("gas required exceeds allowance (5000000)", "gas_limit"),
    ("something odd", "other"),
])
def test_send_error_messages(stub: StubServer, message: str, kind: str) -> None:
    stub.reply = lambda request: error_reply(request, {"code": -32000, "message": message})
    assert _kind_of(HttpRpc(stub.url).send_raw, b"\x01").kind == kind


def test_method_not_found_code_is_unsupported(stub: StubServer) -> None:
    stub.reply = lambda request: error_reply(request, {"code": -32601, "message": "nope"})
    assert _kind_of(HttpRpc(stub.url).get_logs, SINK, [], 1, 2).kind == "unsupported"


def test_batch_answers_are_matched_by_id(stub: StubServer) -> None:
    def reply(request: Any) -> Any:
        answers = [{"jsonrpc": "2.0", "id": item["id"], "result": f"0x{i:064x}"}
                   for i, item in enumerate(request)]
        answers[1] = {"jsonrpc": "2.0", "id": request[1]["id"],
                      "error": {"code": 3, "message": "execution reverted", "data": "0x01"}}
        return json_reply(list(reversed(answers)))
    stub.reply = reply
    results = HttpRpc(stub.url).batch_call([(SINK, b"")] * 3)
    assert results[0] == (0).to_bytes(32, "big") and results[2] == (2).to_bytes(32, "big")
    assert isinstance(results[1], RpcError) and results[1].data == b"\x01"

    stub.reply = lambda request: json_reply(
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch disabled"}})
    assert _kind_of(HttpRpc(stub.url).batch_call, [(SINK, b"")]).kind == "invalid"


def test_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="rpc_url"):
        HttpRpc("ws://127.0.0.1:8545")
