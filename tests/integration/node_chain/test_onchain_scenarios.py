"""More on-chain scenarios through real node processes on anvil (issue 4, point 8)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from node.chain.devchain import ANVIL_KEYS, NODE_KEY
from node.chain.seed_load import CallbackRequest, send_callback_requests
from tests.chain_support import deployed_chain
from tests.integration.node_chain.support import (
    ZERO,
    chain_config,
    chain_node,
    decoded_output,
    wait_until,
)
from tests.node_support import free_service_port, running_node
from tests.workflow_support import external_containers, workflow_servers

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(scope="module")
def session():
    with deployed_chain() as s:
        yield s


def test_redundancy_two_served_by_two_nodes_third_refused(session, tmp_path: Path) -> None:
    cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
    before = cb.functions.deliveryCount().call()
    keys = (NODE_KEY, ANVIL_KEYS[3], ANVIL_KEYS[4])
    with workflow_servers({"echo": "echo"}) as servers:
        containers = external_containers(servers)
        nodes = []
        try:
            for i, key in enumerate(keys[:2]):
                ctx = running_node(tmp_path / f"n{i}", chain_config(session, containers, key=key),
                                   free_service_port())
                (tmp_path / f"n{i}").mkdir()
                nodes.append((ctx, ctx.__enter__()))
            session.transact(cb.functions.requestCompute("echo", b"twice", 2, ZERO, 0, ZERO,
                                                         ZERO), session.consumer)
            wait_until(lambda: cb.functions.deliveryCount().call() - before >= 2, 30,
                       "two deliveries")
            delivered_by = {cb.functions.getDelivery(before + i).call()[3] for i in range(2)}
            assert len(delivered_by) == 2  # two distinct nodes answered
            # A third node joins late: the interval is full, it must not deliver.
            (tmp_path / "n2").mkdir()
            ctx = running_node(tmp_path / "n2", chain_config(session, containers, key=keys[2]),
                               free_service_port())
            third = ctx.__enter__()
            nodes.append((ctx, third))
            wait_until(lambda: any(e.get("reason") in ("interval completed",
                                                       "last interval skipped")
                                   for e in third.events("subscription complete; no longer "
                                                         "tracked")
                                   + third.events("interval will be retried")) or
                       time.sleep(0.2), 15, "the third node to settle the interval")
            assert cb.functions.deliveryCount().call() - before == 2
        finally:
            for ctx, _ in reversed(nodes):
                ctx.__exit__(None, None, None)


def test_cancelled_subscription_is_not_delivered_again(session, tmp_path: Path) -> None:
    sc = session.contract("ExampleSubscriptionConsumer",
                          session.deployment.subscription_consumer)
    with chain_node(session, tmp_path, {"echo": "echo"}) as node:
        receipt = session.transact(sc.functions.createSubscription(
            "echo", 50, 3, 1, False, ZERO, 0, ZERO, ZERO), session.consumer)
        sub_id = int(receipt["logs"][0]["topics"][1].hex(), 16)

        def delivered() -> int:
            count = sc.functions.deliveryCount().call()
            return sum(1 for i in range(count)
                       if sc.functions.getDelivery(i).call()[0] == sub_id)

        for _ in range(20):
            if delivered() >= 1:
                break
            session.mine_at(session.now() + 1)
            time.sleep(0.3)
        assert delivered() >= 1, node.log()
        session.transact(sc.functions.cancelSubscription(sub_id), session.consumer)
        after_cancel = delivered()
        for _ in range(10):  # three more intervals of chain time
            session.mine_at(session.now() + 1)
            time.sleep(0.2)
        assert delivered() == after_cancel
        assert any(e.get("subscription_id") == sub_id and e.get("reason") == "cancelled"
                   for e in node.events("subscription no longer tracked"))


def test_lazy_delivery_lands_in_the_inbox(session, tmp_path: Path) -> None:
    lazy = session.contract("ExampleLazyConsumer", session.deployment.lazy_consumer)
    inbox = session.contract("Inbox", session.deployment.inbox)
    before = lazy.functions.deliveryCount().call()
    with chain_node(session, tmp_path, {"echo": "echo"}):
        session.transact(lazy.functions.requestLazyCompute(
            "echo", b"keep me", 1, 0, 1, ZERO, 0, ZERO, ZERO), session.consumer)
        wait_until(lambda: lazy.functions.deliveryCount().call() > before, 30, "lazy delivery")
        delivery = lazy.functions.getDelivery(before).call()
        # The consumer got a pointer (containerId, index) and read the item from the Inbox.
        assert delivery[7] != b"\x00" * 32
        item = inbox.functions.read(delivery[7], delivery[3], delivery[8]).call()
        assert item[4] == delivery[5]
        raw, _ = decoded_output((None, None, None, None, None, item[4]))
        assert raw == b"keep me"


def test_payment_reaches_the_node_wallet(session, tmp_path: Path) -> None:
    cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
    node_wallet = session.wallets.node_wallet
    amount = 10**15
    start = session.w3.eth.get_balance(node_wallet)
    before = cb.functions.deliveryCount().call()
    with chain_node(session, tmp_path, {"echo": "echo"}, payment_address=node_wallet):
        session.transact(cb.functions.requestCompute(
            "echo", b"paid", 1, ZERO, amount, session.wallets.consumer_wallet, ZERO),
            session.consumer)
        wait_until(lambda: cb.functions.deliveryCount().call() > before, 30, "paid delivery")
    gained = session.w3.eth.get_balance(node_wallet) - start
    fee = session.contract("Fee", session.deployment.fee).functions.FEE().call()
    assert gained == amount - amount * 2 * fee // 10_000


def test_burst_of_100_requests_all_delivered_several_per_block(tmp_path: Path) -> None:
    with deployed_chain(block_time=1) as session:
        cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
        with chain_node(session, tmp_path, {"echo": "echo"}) as node:
            result = send_callback_requests(
                session.w3, session.deployment, ANVIL_KEYS[5], 100,
                CallbackRequest(container_id="echo", inputs=b"burst"))
            assert len(result.ids) == 100
            wait_until(lambda: cb.functions.deliveryCount().call() >= 100, 90,
                       f"100 deliveries\n{node.log()}")
            blocks: dict[int, int] = {}
            for event in cb.events.ComputeReceived().get_logs(from_block=0):
                blocks[event["blockNumber"]] = blocks.get(event["blockNumber"], 0) + 1
            assert sum(blocks.values()) == 100
            assert max(blocks.values()) > 1  # many transactions per block
            assert not [line for line in node.output if "nonce" in line.lower()
                        and '"level":"error"' in line]


def test_node_resumes_after_the_rpc_is_down_for_10_seconds(tmp_path: Path) -> None:
    with deployed_chain() as session:
        cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
        with chain_node(session, tmp_path, {"echo": "echo"}) as node:
            session.anvil.stop()
            time.sleep(10)
            session.anvil.start()
            status, _ = node.request("GET", "/health")
            assert status == 200
            w3 = session.anvil.web3()
            cb = w3.eth.contract(address=cb.address, abi=cb.abi)
            before = cb.functions.deliveryCount().call()
            tx = cb.functions.requestCompute("echo", b"after outage", 1, ZERO, 0, ZERO,
                                             ZERO).transact({"from": session.consumer})
            w3.eth.wait_for_transaction_receipt(tx)
            wait_until(lambda: cb.functions.deliveryCount().call() > before, 60,
                       f"a delivery after the outage\n{node.log()}")


def test_sigkill_mid_delivery_neither_repeats_nor_misses(tmp_path: Path) -> None:
    with deployed_chain(block_time=3) as session:
        cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
        with workflow_servers({"echo": "echo"}) as servers:
            config = chain_config(session, external_containers(servers))
            port = free_service_port()
            with running_node(tmp_path, config, port) as node:
                result = send_callback_requests(
                    session.w3, session.deployment, ANVIL_KEYS[6], 5,
                    CallbackRequest(container_id="echo", inputs=b"once"))
                # Kill once transactions are out but (3 s blocks) not yet mined.
                wait_until(lambda: node.events("transaction sent"), 30, "a sent transaction")
                node.kill9()
            with running_node(tmp_path, config, port):
                wait_until(lambda: cb.functions.deliveryCount().call() >= 5, 60,
                           "every request delivered")
                time.sleep(4)  # a block more: nothing else arrives
                ids = [cb.functions.getDelivery(i).call()[0]
                       for i in range(cb.functions.deliveryCount().call())]
                assert sorted(ids) == sorted(result.ids)


def test_proof_subscription_escrows_the_stake_and_gets_paid(session, tmp_path: Path) -> None:
    """A verifier is named: the node asks the container for a proof, approves its own stake
    on its payment wallet, delivers, and the (atomic) verifier pays it from escrow."""
    cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
    coordinator = session.coordinator
    node_wallet = session.wallets.node_wallet
    amount = 10**15
    before = cb.functions.deliveryCount().call()
    start = session.w3.eth.get_balance(node_wallet)
    with workflow_servers({"echo": "echo"}) as servers:
        containers = [dict(c, generates_proofs=True) for c in external_containers(servers)]
        config = chain_config(session, containers, payment_address=node_wallet)
        with running_node(tmp_path, config, free_service_port()) as node:
            session.transact(cb.functions.requestCompute(
                "echo", b"prove it", 1, ZERO, amount, session.wallets.consumer_wallet,
                session.deployment.verifier), session.consumer)
            wait_until(lambda: cb.functions.deliveryCount().call() > before, 30,
                       f"a proven delivery\n{node.log()}")
            received = [r for r in servers["echo"].received() if r["path"] == "/service_output"]
            assert json.loads(received[-1]["body"])["requires_proof"] is True
            sent = [e["key"] for e in node.events("transaction sent")]
            assert sent[0].endswith("/approve") and not sent[1].endswith("/approve"), sent
    delivery = cb.functions.getDelivery(before).call()
    assert delivery[6] == bytes.fromhex("c0ffee")  # the container's proof, as-is
    verified = coordinator.events.ProofVerified().get_logs(from_block=0)
    assert any(e["args"]["node"] == session.node and e["args"]["valid"] for e in verified)
    # Paid from escrow: the payment less the protocol fee and the verifier's part.
    assert session.w3.eth.get_balance(node_wallet) > start


def test_unfunded_consumer_wallet_is_retried_boundedly_not_delivered(session,
                                                                     tmp_path: Path) -> None:
    cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
    before = cb.functions.deliveryCount().call()
    too_much = 10**30  # more than the consumer wallet holds
    with chain_node(session, tmp_path, {"echo": "echo"},
                    payment_address=session.wallets.node_wallet) as node:
        session.transact(cb.functions.requestCompute(
            "echo", b"unpaid", 1, ZERO, too_much, session.wallets.consumer_wallet, ZERO),
            session.consumer)
        wait_until(lambda: node.events("giving up on interval after bounded retries"), 40,
                   f"the final give-up line\n{node.log()}")
        retries = node.events("interval will be retried")
        assert retries and all("less than the payment" in e["reason"] for e in retries)
        assert node.events("interval due; job started") == []  # no container time spent
    assert cb.functions.deliveryCount().call() == before
