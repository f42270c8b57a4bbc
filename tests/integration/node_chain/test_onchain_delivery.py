"""On-chain requests served by a real node process on anvil (issue 4, point 8)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from eth_abi.abi import decode as abi_decode

from tests.chain_support import deployed_chain
from tests.integration.node_chain.support import ZERO, chain_node, decoded_output, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(scope="module")
def session():
    with deployed_chain() as s:
        yield s


def test_callback_request_is_delivered_and_stored(session, tmp_path: Path) -> None:
    cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
    before = cb.functions.deliveryCount().call()
    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        session.transact(cb.functions.requestCompute("echo", b"hello chain", 1, ZERO, 0, ZERO,
                                                     ZERO), session.consumer)
        wait_until(lambda: cb.functions.deliveryCount().call() > before, 30,
                   f"a delivery\n{node.log()}")
        delivery = cb.functions.getDelivery(before).call()
        assert delivery[3] == session.node  # the node account delivered
        raw, processed = decoded_output(delivery)
        assert raw == b"hello chain" and processed == b""
        _, info = node.request("GET", "/info")
        assert info["chain"] == {"enabled": True, "address": session.node}


def test_recurring_subscription_is_delivered_once_per_interval(session, tmp_path: Path) -> None:
    sc = session.contract("ExampleSubscriptionConsumer",
                          session.deployment.subscription_consumer)
    before = sc.functions.deliveryCount().call()
    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        session.transact(sc.functions.setInputs(b"tick"), session.consumer)
        session.transact(sc.functions.createSubscription("echo", 3, 4, 1, False, ZERO, 0, ZERO,
                                                         ZERO), session.consumer)
        # anvil mines on demand: a block every half second, one chain second apart, so each
        # 4 s interval spans several blocks the node can deliver in.
        for _ in range(40):
            if sc.functions.deliveryCount().call() - before >= 3:
                break
            session.mine_at(session.now() + 1)
            time.sleep(0.5)
        wait_until(lambda: sc.functions.deliveryCount().call() - before >= 3, 10,
                   f"three deliveries\n{node.log()}")
        intervals = [sc.functions.getDelivery(i).call()[1]
                     for i in range(before, sc.functions.deliveryCount().call())]
        assert sorted(intervals) == [1, 2, 3], intervals


def test_delegated_subscription_over_rest(session, tmp_path: Path) -> None:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from node.chain.container_ids import container_id_hash
    from node.chain.devchain import DEPLOYER_KEY

    dc = session.contract("ExampleDelegatorConsumer", session.deployment.delegator_consumer)
    signer = Account.from_key(DEPLOYER_KEY)
    assert dc.functions.getSigner().call() == signer.address
    before = dc.functions.deliveryCount().call()
    now = session.now()
    sub = {"owner": dc.address, "activeAt": now, "period": 0, "frequency": 1, "redundancy": 1,
           "containerId": container_id_hash(["echo"]), "lazy": False, "verifier": ZERO,
           "paymentAmount": 0, "paymentToken": ZERO, "wallet": ZERO}
    nonce, expiry = 5, now + 3600
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"},
                             {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Subscription": [{"name": n, "type": t} for n, t in (
                ("owner", "address"), ("activeAt", "uint32"), ("period", "uint32"),
                ("frequency", "uint32"), ("redundancy", "uint16"), ("containerId", "bytes32"),
                ("lazy", "bool"), ("verifier", "address"), ("paymentAmount", "uint256"),
                ("paymentToken", "address"), ("wallet", "address"))],
            "DelegateSubscription": [{"name": "nonce", "type": "uint32"},
                                     {"name": "expiry", "type": "uint32"},
                                     {"name": "sub", "type": "Subscription"}],
        },
        "primaryType": "DelegateSubscription",
        "domain": {"name": "InfernetCoordinator", "version": "1",
                   "chainId": session.w3.eth.chain_id,
                   "verifyingContract": session.deployment.coordinator},
        "message": {"nonce": nonce, "expiry": expiry, "sub": sub},
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), DEPLOYER_KEY)
    body = {
        "subscription": {"owner": dc.address, "active_at": now, "period": 0, "frequency": 1,
                         "redundancy": 1, "containers": "0x" + sub["containerId"].hex(),
                         "lazy": False, "verifier": ZERO, "payment_amount": 0,
                         "payment_token": ZERO, "wallet": ZERO},
        "signature": {"nonce": nonce, "expiry": expiry, "v": signed.v, "r": signed.r,
                      "s": signed.s},
        "data": {"prompt": "a green hoodie"},
    }
    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        status, answer = node.request("POST", "/api/jobs", body)
        assert status == 200, answer
        job_id = answer["id"]
        result = node.wait_result(job_id, timeout=30)
        assert result["status"] == "success"
        # The web-app story: the answer is over REST at once, the proof lands on-chain after.
        record = wait_until(
            lambda: (lambda r: r if r[0].get("delivery", {}).get("status") == "mined" else None)(
                node.request("GET", f"/api/jobs?id={job_id}")[1]), 30,
            f"a mined delivery\n{node.log()}")
        assert record[0]["delivery"]["tx_hash"].startswith("0x")
        assert dc.functions.deliveryCount().call() == before + 1
        raw, _ = decoded_output(dc.functions.getDelivery(before).call())
        (text,) = abi_decode(["string"], raw)
        assert json.loads(text) == {"prompt": "a green hoodie"}

        # A signature by someone else is refused at once, with a reason.
        forged = Account.sign_message(encode_typed_data(full_message=typed), "0x" + "22" * 32)
        bad = dict(body, signature=dict(body["signature"], v=forged.v, r=forged.r, s=forged.s))
        status, answer = node.request("POST", "/api/jobs", bad)
        assert status == 405 and answer["error"] == "Signer mismatch"
