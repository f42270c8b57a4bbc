"""Typed bindings against our deployed suite on anvil: every read compared with what
web3 or the chain says, every encoding proven by a transaction that succeeds."""

from __future__ import annotations

import msgspec
import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from node.chain import contracts
from node.chain.contracts import Coordinator, Reader, Registry
from node.chain.eip712 import recover_delegate_signer
from node.chain.reverts import decode_revert
from node.chain.rpc import HttpRpc
from node.chain.rpc_types import RpcError
from node.chain.subscription import ZERO_ADDRESS, Subscription
from tests.chain_support import CONSUMER_KEY, DEPLOYER_KEY, NODE_KEY, ChainSession
from tests.contracts.helpers import (
    CONTAINER_HASH,
    as_tuple,
    create_subscription,
    delegated_subscription,
    request_callback,
    sign_delegation,
    subscription_consumer,
)
from tests.integration.chain.conftest import send

pytestmark = pytest.mark.chain


def _coordinator(rpc: HttpRpc, chain: ChainSession) -> Coordinator:
    return Coordinator(rpc, chain.deployment.coordinator)


def test_registry_addresses_in_one_request(rpc: HttpRpc, chain: ChainSession) -> None:
    before = rpc.calls
    addresses = Registry(rpc, chain.deployment.registry).addresses()
    assert rpc.calls == before + 1
    d = chain.deployment
    assert addresses == contracts.RegistryAddresses(
        coordinator=d.coordinator, inbox=d.inbox, reader=d.reader, fee=d.fee,
        wallet_factory=d.wallet_factory)


def test_subscription_reads(rpc: HttpRpc, chain: ChainSession) -> None:
    coordinator = _coordinator(rpc, chain)
    first = coordinator.next_id()
    sub_id = request_callback(chain, redundancy=2, amount=7, wallet=chain.wallets.consumer_wallet)
    block = rpc.block_number()
    assert sub_id == first and coordinator.next_id(block) == first + 1
    assert coordinator.next_id(block - 1) == first, "reads honour the block"

    sub = coordinator.get_subscription(sub_id, block)
    raw = chain.coordinator.functions.getSubscription(sub_id).call()
    assert contracts.subscription_tuple(sub) == tuple(raw)
    assert (sub.id, sub.owner, sub.redundancy, sub.payment_amount, sub.wallet) == (
        sub_id, chain.deployment.callback_consumer, 2, 7, chain.wallets.consumer_wallet)
    assert sub.container_id == CONTAINER_HASH and sub.is_callback and sub.paid
    assert not coordinator.get_subscription(sub_id + 50).exists

    periodic = create_subscription(chain, frequency=3, period=60)
    subs = Reader(rpc, chain.deployment.reader).read_subscription_batch(1, periodic + 2)
    assert [s.id for s in subs] == list(range(1, periodic + 2))
    assert subs[sub_id - 1] == coordinator.get_subscription(sub_id)
    assert subs[periodic - 1].period == 60 and subs[periodic - 1].frequency == 3
    assert not subs[-1].exists
    with pytest.raises(ValueError):
        Reader(rpc, chain.deployment.reader).read_subscription_batch(5, 4)


def test_delivery_encoding_state_and_events(rpc: HttpRpc, chain: ChainSession) -> None:
    coordinator = _coordinator(rpc, chain)
    reader = Reader(rpc, chain.deployment.reader)
    sub_id = request_callback(chain, b"the inputs", redundancy=2)
    state = coordinator.delivery_state(sub_id, 1, chain.node)
    assert (state.redundancy_count, state.node_responded) == (0, False)
    assert state.subscription.id == sub_id

    assert contracts.consumer_inputs(rpc, state.subscription.owner, sub_id, 1, chain.now(),
                                     chain.node) == b"the inputs"
    data = Coordinator.encode_deliver_compute(sub_id, 1, b"in", b"out", b"", ZERO_ADDRESS)
    receipt = send(rpc, NODE_KEY, chain.deployment.coordinator, data)

    before = rpc.calls
    state = coordinator.delivery_state(sub_id, 1, chain.node, receipt.block_number)
    assert rpc.calls == before + 1, "delivery state is one batched request"
    assert (state.redundancy_count, state.node_responded) == (1, True)
    assert coordinator.redundancy_count(sub_id, 1) == 1
    assert coordinator.node_responded(sub_id, 1, chain.node)
    assert not coordinator.node_responded(sub_id, 1, chain.consumer)
    assert coordinator.node_responded(sub_id, 1, chain.node, receipt.block_number - 1) is False
    assert reader.read_redundancy_count_batch([sub_id, sub_id], [1, 2]) == [1, 0]

    with pytest.raises(RpcError) as again:
        rpc.call(chain.deployment.coordinator, data, sender=chain.node)
    assert decode_revert(again.value.data or b"").name == "NodeRespondedAlready"

    logs = rpc.get_logs(chain.deployment.coordinator, [contracts.SUBSCRIPTION_EVENT_TOPICS],
                        receipt.block_number - 1, receipt.block_number)
    events = [contracts.decode_coordinator_log(log) for log in logs]
    created, fulfilled = events
    assert isinstance(created, contracts.SubscriptionCreated) and created.sub_id == sub_id
    assert isinstance(fulfilled, contracts.SubscriptionFulfilled)
    assert (fulfilled.sub_id, fulfilled.node, fulfilled.block_number, fulfilled.tx_hash) == (
        sub_id, chain.node, receipt.block_number, receipt.tx_hash)
    assert not fulfilled.removed


def test_cancellation_event(rpc: HttpRpc, chain: ChainSession) -> None:
    sub_id = create_subscription(chain, frequency=2, period=30)
    chain.transact(subscription_consumer(chain).functions.cancelSubscription(sub_id),
                   chain.consumer)
    head = rpc.block_number()
    logs = rpc.get_logs(chain.deployment.coordinator, [contracts.SUBSCRIPTION_CANCELLED_TOPIC],
                        head, head)
    (event,) = [contracts.decode_coordinator_log(log) for log in logs]
    assert isinstance(event, contracts.SubscriptionCancelled) and event.sub_id == sub_id
    assert _coordinator(rpc, chain).get_subscription(sub_id).cancelled
    with pytest.raises(ValueError):
        contracts.decode_coordinator_log({**logs[0], "topics": ["0x" + "00" * 32]})
    with pytest.raises(ValueError):
        contracts.decode_coordinator_log({"topics": []})


def test_delegated_delivery_with_our_digest_and_encoding(rpc: HttpRpc,
                                                         chain: ChainSession) -> None:
    coordinator = _coordinator(rpc, chain)
    name, version, chain_id, verifying = coordinator.eip712_domain()
    assert (name, version, chain_id, verifying) == (
        "InfernetCoordinator", "1", rpc.chain_id(), chain.deployment.coordinator)

    owner = chain.deployment.delegator_consumer
    signer = contracts.delegator_signer(rpc, owner)
    assert signer == Account.from_key(DEPLOYER_KEY).address
    raw = delegated_subscription(chain, active_at=chain.now())
    expiry, nonce = chain.now() + 600, 42
    v, r, s = sign_delegation(chain, DEPLOYER_KEY, nonce, expiry, raw)
    sub = contracts.subscription_from_tuple(0, as_tuple(raw))
    r_int, s_int = int.from_bytes(r, "big"), int.from_bytes(s, "big")
    assert recover_delegate_signer(sub, nonce, expiry, chain_id, verifying, v, r_int,
                                   s_int) == signer

    assert coordinator.delegate_created_id(owner, nonce) == 0
    data = Coordinator.encode_deliver_compute_delegatee(
        nonce, expiry, sub, v, r_int, s_int, 1, b"in", b"out", b"", ZERO_ADDRESS)
    send(rpc, NODE_KEY, chain.deployment.coordinator, data)
    created = coordinator.delegate_created_id(owner, nonce)
    assert created == coordinator.next_id() - 1
    assert coordinator.node_responded(created, 1, chain.node)
    assert coordinator.max_subscriber_nonce(owner) == nonce
    stored = coordinator.get_subscription(created)
    assert contracts.subscription_tuple(stored) == contracts.subscription_tuple(sub)

    # Same (owner, nonce) is reused, not created again: now the interval is complete.
    with pytest.raises(RpcError) as again:
        rpc.call(chain.deployment.coordinator, data, sender=chain.node)
    assert decode_revert(again.value.data or b"").name == "IntervalCompleted"
    create = Coordinator.encode_create_subscription_delegatee(nonce + 1, expiry, sub, v, r_int,
                                                              s_int)
    with pytest.raises(RpcError) as mismatch:
        rpc.call(chain.deployment.coordinator, create, sender=chain.node)
    assert decode_revert(mismatch.value.data or b"").name == "SignerMismatch"


def test_failed_consumer_reads_degrade(rpc: HttpRpc, chain: ChainSession) -> None:
    registry = chain.deployment.registry  # has neither getContainerInputs nor getSigner
    assert contracts.consumer_inputs(rpc, registry, 1, 1, 0, chain.node) == b""
    assert contracts.delegator_signer(rpc, registry) == ZERO_ADDRESS
    assert contracts.delegator_signer(rpc, chain.consumer) == ZERO_ADDRESS  # an EOA
    with pytest.raises(RpcError) as no_code:
        Coordinator(rpc, chain.consumer).next_id()
    assert no_code.value.kind == "invalid"
    assert Coordinator(rpc, chain.deployment.registry).node_manager() == ZERO_ADDRESS
    assert _coordinator(rpc, chain).node_manager() == ZERO_ADDRESS


def test_wallets_tokens_and_approval(rpc: HttpRpc, chain: ChainSession) -> None:
    factory = chain.deployment.wallet_factory
    node_wallet, consumer_wallet = chain.wallets.node_wallet, chain.wallets.consumer_wallet
    assert contracts.is_valid_wallet(rpc, factory, node_wallet)
    assert not contracts.is_valid_wallet(rpc, factory, chain.node)
    assert contracts.wallet_owner(rpc, node_wallet) == chain.node
    assert contracts.wallet_owner(rpc, consumer_wallet) == chain.consumer
    assert contracts.token_balance(rpc, ZERO_ADDRESS, node_wallet) == \
        chain.w3.eth.get_balance(node_wallet) > 0
    token = chain.deployment.test_token
    assert contracts.token_balance(rpc, token, node_wallet) == \
        chain.contract("TestToken", token).functions.balanceOf(node_wallet).call()
    assert contracts.wallet_allowance(rpc, consumer_wallet, chain.deployment.callback_consumer,
                                      ZERO_ADDRESS) == 2**256 - 1

    assert contracts.wallet_allowance(rpc, node_wallet, chain.node, ZERO_ADDRESS) == 0
    send(rpc, NODE_KEY, node_wallet,
         contracts.encode_wallet_approve(chain.node, ZERO_ADDRESS, 12345))
    calls = [contracts.wallet_allowance_call(node_wallet, chain.node, ZERO_ADDRESS),
             contracts.is_valid_wallet_call(factory, node_wallet),
             contracts.token_balance_call(token, node_wallet)]
    allowance, valid, _ = contracts.run_batch(rpc, calls)
    assert (allowance, valid) == (12345, True)

    with pytest.raises(RpcError) as refused:  # only the owner may approve
        rpc.call(consumer_wallet, contracts.encode_wallet_approve(chain.node, ZERO_ADDRESS, 1),
                 sender=Account.from_key(NODE_KEY).address)
    assert refused.value.kind == "revert"
    assert decode_revert(refused.value.data or b"").name == "Unauthorized"
    assert Account.from_key(CONSUMER_KEY).address == chain.consumer


def test_subscription_roundtrip_keeps_every_field() -> None:
    def address(byte: str) -> str:
        return to_checksum_address("0x" + byte * 20)

    sub = Subscription(id=3, owner=address("a1"), active_at=5, period=6, frequency=7,
                       redundancy=8, container_id=b"\x09" * 32, lazy=True,
                       verifier=address("b2"), payment_amount=10, payment_token=address("c3"),
                       wallet=address("d4"))
    assert contracts.subscription_from_tuple(3, contracts.subscription_tuple(sub)) == sub


_addresses = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address(b))
_subscriptions = st.builds(
    Subscription, id=st.just(0), owner=_addresses, active_at=st.integers(0, 2**32 - 1),
    period=st.integers(0, 2**32 - 1), frequency=st.integers(0, 2**32 - 1),
    redundancy=st.integers(0, 2**16 - 1), container_id=st.binary(min_size=32, max_size=32),
    lazy=st.booleans(), verifier=_addresses, payment_amount=st.integers(0, 2**256 - 1),
    payment_token=_addresses, wallet=_addresses)


@settings(max_examples=50, deadline=None)
@given(subs=st.lists(_subscriptions, max_size=5), first=st.integers(1, 1000))
def test_fast_subscription_decoding_matches_the_abi_codec(subs: list[Subscription],
                                                          first: int) -> None:
    data = abi_encode([contracts.SUBSCRIPTION_TUPLE + "[]"],
                      [[contracts.subscription_tuple(s) for s in subs]])
    decoded = contracts.subscriptions_from_array(first, data)
    assert decoded == [msgspec.structs.replace(s, id=first + i) for i, s in enumerate(subs)]
    generic = contracts.READ_SUBSCRIPTION_BATCH.decode(data)[0]
    assert decoded == [contracts.subscription_from_tuple(first + i, t)
                       for i, t in enumerate(generic)]
    if subs:
        with pytest.raises(RpcError):
            contracts.subscriptions_from_array(first, data[:-32])
        single = abi_encode([contracts.SUBSCRIPTION_TUPLE], [contracts.subscription_tuple(subs[0])])
        assert contracts.subscription_from_words(7, single) == \
            msgspec.structs.replace(subs[0], id=7)
