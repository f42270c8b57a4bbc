"""Payments through Wallets with the protocol fee split, wallet validation, and proof
requests settled by the test verifier (atomic, deferred and expired)."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from tests.chain_support import ANVIL_ADDRESSES, ChainSession
from tests.contracts.helpers import (
    ETHER,
    ZERO,
    create_subscription,
    deliver,
    deliver_error,
    eth_balance,
    node_key,
    request_callback,
)

pytestmark = pytest.mark.chain

FEE_BPS = 500  # deploy_suite's default
PAYMENT = ETHER
VERIFIER_FEE = ETHER // 10


def _fee(amount: int, bps: int) -> int:
    return amount * bps // 10_000


def _balances(chain: ChainSession, *addresses: str) -> list[int]:
    return [eth_balance(chain, a) for a in addresses]


def _verifier(chain: ChainSession):  # type: ignore[no-untyped-def]
    return chain.contract("AtomicVerifier", chain.deployment.verifier)


def _approve_node_stake(chain: ChainSession, amount: int) -> None:
    wallet = chain.contract("Wallet", chain.wallets.node_wallet)
    chain.transact(wallet.functions.approve(chain.node, ZERO, amount), chain.node)


def _paid_request(chain: ChainSession, verifier: str = ZERO) -> int:
    return request_callback(chain, amount=PAYMENT, wallet=chain.wallets.consumer_wallet,
                            verifier=verifier)


def test_payment_without_verifier_splits_fee_and_pays_node_wallet(chain: ChainSession) -> None:
    wallets = chain.wallets
    recipient = chain.deployment.fee_recipient
    sub_id = _paid_request(chain)
    before = _balances(chain, wallets.consumer_wallet, wallets.node_wallet, recipient)

    deliver(chain, sub_id, 1, chain.node, node_wallet=wallets.node_wallet)

    protocol = _fee(PAYMENT, 2 * FEE_BPS)
    after = _balances(chain, wallets.consumer_wallet, wallets.node_wallet, recipient)
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        -PAYMENT, PAYMENT - protocol, protocol]


def test_node_wallet_must_come_from_the_factory(chain: ChainSession) -> None:
    sub_id = _paid_request(chain)
    assert deliver_error(chain, sub_id, 1, chain.node, node_wallet=chain.node) == "InvalidWallet"
    assert deliver_error(chain, sub_id, 1, chain.node) == "InvalidWallet"


def test_consumer_wallet_must_come_from_the_factory(chain: ChainSession) -> None:
    sub_id = request_callback(chain, amount=PAYMENT, wallet=ANVIL_ADDRESSES[5])
    error = deliver_error(chain, sub_id, 1, chain.node, node_wallet=chain.wallets.node_wallet)
    assert error == "InvalidWallet"


def test_unpaid_subscription_needs_no_wallet(chain: ChainSession) -> None:
    sub_id = request_callback(chain)
    deliver(chain, sub_id, 1, chain.node, node_wallet=ZERO)


def test_consumer_allowance_and_funds_are_enforced(chain: ChainSession) -> None:
    wallet = chain.contract("Wallet", chain.wallets.consumer_wallet)
    chain.transact(wallet.functions.approve(chain.deployment.callback_consumer, ZERO, PAYMENT // 2),
                   chain.consumer)
    sub_id = _paid_request(chain)
    node_wallet = chain.wallets.node_wallet
    assert deliver_error(chain, sub_id, 1, chain.node,
                         node_wallet=node_wallet) == "InsufficientAllowance"

    chain.transact(wallet.functions.approve(chain.deployment.callback_consumer, ZERO, 10**30),
                   chain.consumer)
    huge = request_callback(chain, amount=10**24, wallet=chain.wallets.consumer_wallet)
    assert deliver_error(chain, huge, 1, chain.node, node_wallet=node_wallet) == "InsufficientFunds"


def test_wallet_owner_only_and_coordinator_only(chain: ChainSession) -> None:
    wallet = chain.contract("Wallet", chain.wallets.consumer_wallet).functions
    assert wallet.owner().call() == chain.consumer
    assert chain.revert_of(wallet.withdraw(ZERO, 1), chain.node) == "Unauthorized"
    assert chain.revert_of(wallet.cTransfer(chain.consumer, ZERO, chain.node, 1),
                           chain.consumer) == "NotCoordinator"
    before = eth_balance(chain, chain.wallets.consumer_wallet)
    chain.transact(wallet.withdraw(ZERO, ETHER), chain.consumer)
    assert eth_balance(chain, chain.wallets.consumer_wallet) == before - ETHER


def test_valid_proof_pays_the_node_from_escrow(chain: ChainSession) -> None:
    verifier = _verifier(chain)
    chain.transact(verifier.functions.setTokenFee(ZERO, True, VERIFIER_FEE), chain.deployer)
    _approve_node_stake(chain, PAYMENT)
    wallets = chain.wallets
    watched = (wallets.consumer_wallet, wallets.node_wallet, chain.deployment.fee_recipient,
               chain.deployment.verifier)
    sub_id = _paid_request(chain, verifier=chain.deployment.verifier)
    before = _balances(chain, *watched)

    receipt = deliver(chain, sub_id, 1, chain.node, proof=b"\x01valid",
                      node_wallet=wallets.node_wallet)

    protocol = _fee(PAYMENT, 2 * FEE_BPS)
    verifier_protocol = _fee(VERIFIER_FEE, FEE_BPS)
    escrow = PAYMENT - protocol - VERIFIER_FEE
    after = _balances(chain, *watched)
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        -(protocol + VERIFIER_FEE + escrow), escrow, protocol + verifier_protocol,
        VERIFIER_FEE - verifier_protocol]
    verified = chain.coordinator.events.ProofVerified().process_receipt(receipt, errors=DISCARD)
    assert [dict(e["args"]) for e in verified] == [{
        "id": sub_id, "interval": 1, "node": chain.node, "active": True,
        "verifier": chain.deployment.verifier, "valid": True}]
    request = chain.coordinator.functions.proofRequests(node_key(sub_id, 1, chain.node)).call()
    assert tuple(request) == (0, ZERO, 0)
    # The node's stake went back into its allowance.
    node_wallet = chain.contract("Wallet", wallets.node_wallet).functions
    assert node_wallet.allowance(chain.node, ZERO).call() == PAYMENT


def test_invalid_proof_slashes_the_node_stake(chain: ChainSession) -> None:
    _approve_node_stake(chain, PAYMENT)
    wallets = chain.wallets
    sub_id = _paid_request(chain, verifier=chain.deployment.verifier)
    before = _balances(chain, wallets.consumer_wallet, wallets.node_wallet)

    deliver(chain, sub_id, 1, chain.node, proof=b"\x00bad", node_wallet=wallets.node_wallet)

    protocol = _fee(PAYMENT, 2 * FEE_BPS)
    after = _balances(chain, wallets.consumer_wallet, wallets.node_wallet)
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        PAYMENT - protocol, -PAYMENT]


def test_node_must_approve_its_stake(chain: ChainSession) -> None:
    sub_id = _paid_request(chain, verifier=chain.deployment.verifier)
    error = deliver_error(chain, sub_id, 1, chain.node, proof=b"\x01",
                          node_wallet=chain.wallets.node_wallet)
    assert error == "InsufficientAllowance"


def test_deferred_verification_only_by_the_verifier_until_expiry(chain: ChainSession) -> None:
    verifier = _verifier(chain).functions
    chain.transact(verifier.setAtomic(False), chain.deployer)
    _approve_node_stake(chain, 2 * PAYMENT)
    wallets = chain.wallets
    first = _paid_request(chain, verifier=chain.deployment.verifier)
    second = _paid_request(chain, verifier=chain.deployment.verifier)
    receipts = [deliver(chain, sub_id, 1, chain.node, proof=b"\x01",
                        node_wallet=wallets.node_wallet) for sub_id in (first, second)]
    delivered_at = chain.w3.eth.get_block(receipts[0]["blockNumber"])["timestamp"]

    coordinator = chain.coordinator.functions
    expiry, node_wallet, escrowed = coordinator.proofRequests(node_key(first, 1, chain.node)).call()
    assert (node_wallet, escrowed) == (wallets.node_wallet, PAYMENT - _fee(PAYMENT, 2 * FEE_BPS))
    assert expiry == delivered_at + 7 * 24 * 3600

    early = coordinator.finalizeProofVerification(first, 1, chain.node, True)
    assert chain.revert_of(early, chain.consumer) == "UnauthorizedVerifier"
    before = eth_balance(chain, wallets.node_wallet)
    chain.transact(verifier.settle(first, 1, chain.node, True), chain.deployer)
    assert eth_balance(chain, wallets.node_wallet) == before + escrowed
    assert chain.revert_of(verifier.settle(first, 1, chain.node, True),
                           chain.deployer) == "ProofRequestNotFound"

    # After expiry anyone may finalize, and the node is paid whatever the verdict.
    chain.mine_at(expiry + 1)
    late = coordinator.finalizeProofVerification(second, 1, chain.node, False)
    receipt = chain.transact(late, chain.consumer)
    verified = chain.coordinator.events.ProofVerified().process_receipt(receipt, errors=DISCARD)
    assert verified[0]["args"]["active"] is False
    assert eth_balance(chain, wallets.node_wallet) == before + 2 * escrowed


def test_verifier_must_support_the_payment_token(chain: ChainSession) -> None:
    token = chain.contract("TestToken", chain.deployment.test_token).functions
    wallets = chain.wallets
    chain.transact(token.mint(wallets.consumer_wallet, 10 * ETHER), chain.deployer)
    consumer_wallet = chain.contract("Wallet", wallets.consumer_wallet).functions
    chain.transact(consumer_wallet.approve(chain.deployment.callback_consumer,
                                           chain.deployment.test_token, 10 * ETHER),
                   chain.consumer)
    token_address = chain.deployment.test_token

    with_verifier = request_callback(chain, token=token_address, amount=PAYMENT,
                                     wallet=wallets.consumer_wallet,
                                     verifier=chain.deployment.verifier)
    assert deliver_error(chain, with_verifier, 1, chain.node, proof=b"\x01",
                         node_wallet=wallets.node_wallet) == "UnsupportedVerifierToken"

    plain = request_callback(chain, token=token_address, amount=PAYMENT,
                             wallet=wallets.consumer_wallet)
    deliver(chain, plain, 1, chain.node, node_wallet=wallets.node_wallet)
    assert token.balanceOf(wallets.node_wallet).call() == PAYMENT - _fee(PAYMENT, 2 * FEE_BPS)


def test_recurring_paid_subscription_pays_every_interval(chain: ChainSession) -> None:
    wallets = chain.wallets
    chain.transact(chain.contract("Wallet", wallets.consumer_wallet).functions.approve(
        chain.deployment.subscription_consumer, ZERO, 2 * PAYMENT), chain.consumer)
    sub_id = create_subscription(chain, frequency=3, period=100, amount=PAYMENT,
                                 wallet=wallets.consumer_wallet)
    active_at = chain.coordinator.functions.getSubscription(sub_id).call()[1]
    for interval in (1, 2):
        chain.mine_at(active_at + 100 * (interval - 1) + 10)
        deliver(chain, sub_id, interval, chain.node, node_wallet=wallets.node_wallet)
    chain.mine_at(active_at + 210)
    assert deliver_error(chain, sub_id, 3, chain.node,
                         node_wallet=wallets.node_wallet) == "InsufficientAllowance"
