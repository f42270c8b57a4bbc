"""The transaction state machine, fee policy, gas margin and local signing."""

from __future__ import annotations

import itertools

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from node.chain.tx import (
    FINAL_STATES,
    Fees,
    InvalidTransition,
    TxRequest,
    TxState,
    bumped_fees,
    check_transition,
    gas_with_margin,
    local_tx_hash,
    outcome_status,
    sign_attempt,
    suggested_fees,
)

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ALL_STATES: tuple[TxState, ...] = ("queued", "signed", "sent", "mined", "reverted",
                                   "simulation_failed", "failed")
ALLOWED = {
    ("queued", "signed"), ("queued", "simulation_failed"), ("queued", "failed"),
    ("signed", "signed"), ("signed", "sent"), ("signed", "mined"), ("signed", "reverted"),
    ("signed", "failed"),
    ("sent", "signed"), ("sent", "sent"), ("sent", "mined"), ("sent", "reverted"),
    ("sent", "failed"),
    ("simulation_failed", "queued"), ("failed", "queued"),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(ALL_STATES, repeat=2)))
def test_only_the_listed_transitions_are_allowed(old: TxState, new: TxState) -> None:
    if (old, new) in ALLOWED:
        check_transition(old, new)
    else:
        with pytest.raises(InvalidTransition, match=f"{old!r} to {new!r}"):
            check_transition(old, new)


def test_on_chain_outcomes_are_final_forever() -> None:
    for new in ALL_STATES:
        for old in ("mined", "reverted"):
            with pytest.raises(InvalidTransition):
                check_transition(old, new)  # type: ignore[arg-type]


def test_outcome_status_only_for_final_states() -> None:
    assert [outcome_status(s) for s in FINAL_STATES] == list(FINAL_STATES)
    for state in ("queued", "signed", "sent"):
        with pytest.raises(ValueError, match="not final"):
            outcome_status(state)  # type: ignore[arg-type]


def test_fees_prefer_eip1559_and_fall_back_to_the_gas_price() -> None:
    assert suggested_fees((300, 7), 99) == Fees(max_fee=300, priority_fee=7)
    assert suggested_fees(None, 99) == Fees(max_fee=99)
    assert suggested_fees(None, 99).fields() == {"gasPrice": 99}
    assert Fees(10, 2).fields() == {"maxFeePerGas": 10, "maxPriorityFeePerGas": 2}
    # A tip above the cap would be refused by nodes; the cap is raised to it.
    assert suggested_fees((5, 8), None) == Fees(max_fee=8, priority_fee=8)
    with pytest.raises(ValueError, match="gas price"):
        suggested_fees(None, None)


@given(st.integers(1, 10**15), st.integers(0, 10**12))
def test_bumps_raise_both_fields_by_at_least_ten_percent(max_fee: int, tip: int) -> None:
    old = Fees(max_fee=max(max_fee, tip), priority_fee=tip)
    new = bumped_fees(old)
    assert new.priority_fee is not None
    assert new.max_fee * 10 >= old.max_fee * 11
    assert new.priority_fee * 10 >= tip * 11 and new.priority_fee > tip
    assert new.max_fee >= new.priority_fee


def test_bumps_are_twelve_and_a_half_percent_or_the_current_suggestion() -> None:
    assert bumped_fees(Fees(800, 80)) == Fees(900, 90)
    assert bumped_fees(Fees(800, 80), Fees(2000, 85)) == Fees(2000, 90)
    assert bumped_fees(Fees(800, 80), Fees(100, 100)) == Fees(900, 100)
    assert bumped_fees(Fees(800)) == Fees(900)
    assert bumped_fees(Fees(800), Fees(1000)) == Fees(1000)
    assert bumped_fees(Fees(1, 0)) == Fees(2, 1)  # tiny values still grow


def test_gas_gets_a_margin_and_a_cap() -> None:
    assert gas_with_margin(100_000, 1.25, 5_000_000) == 125_000
    assert gas_with_margin(100_001, 1.25, 5_000_000) == 125_002  # rounded up
    assert gas_with_margin(100_000, 1.25, 110_000) == 110_000
    for bad in ((0, 1.25, 10), (10, 0.9, 10), (10, 1.2, 0)):
        with pytest.raises(ValueError, match="bad gas"):
            gas_with_margin(*bad)


@pytest.mark.parametrize("fees", [Fees(10**10, 10**9), Fees(10**10)])
def test_attempts_are_signed_locally_with_their_hash(fees: Fees) -> None:
    account = Account.from_key(KEY)
    request = TxRequest(to="0x" + "ab" * 20, data=b"\x01\x02", value=3)
    attempt = sign_attempt(account, chain_id=31337, key="k", nonce=7, request=request,
                           gas=50_000, fees=fees, now=12.5)
    # eth-account computes the hash its own way; ours must agree.
    signed = account.sign_transaction({
        "chainId": 31337, "nonce": 7, "gas": 50_000, "to": to_checksum_address(request.to),
        "value": 3,
        "data": b"\x01\x02", **fees.fields()})
    assert attempt.tx_hash == local_tx_hash(attempt.raw) == "0x" + signed.hash.hex()
    decoded = Account.recover_transaction(attempt.raw)
    assert decoded == account.address
    assert (attempt.key, attempt.nonce, attempt.gas, attempt.fees, attempt.created_at) == \
        ("k", 7, 50_000, fees, 12.5)
    assert not attempt.sent
    again = sign_attempt(account, chain_id=31337, key="k", nonce=7, request=request,
                         gas=50_000, fees=fees, now=99.0)
    assert again.raw == attempt.raw  # deterministic signatures: same bytes, same hash
    if fees.legacy:
        assert attempt.raw[0] >= 0xC0  # an RLP list: a legacy transaction
    else:
        assert attempt.raw[0] == 2  # EIP-1559 typed transaction
