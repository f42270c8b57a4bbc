import msgspec
import pytest

from node.config.schema import Chain, Config, Container, Wallet
from node.guardian import GuardianRules, Rejection, check_delegated, check_offchain, check_onchain

OWNER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
ZERO = "0x0000000000000000000000000000000000000000"
VERIFIER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


def rules(*containers, chain=True, payment_address="0x" + "11" * 20):
    wallet = Wallet(payment_address=payment_address)
    return GuardianRules.from_config(
        Config(containers=tuple(containers), chain=Chain(enabled=chain, wallet=wallet))
    )


def reject(error, **params):
    return Rejection(error=error, params=params)


def test_rejection_is_json_safe():
    rejection = check_offchain(rules(Container(id="a")), ["zz"], False, "1.2.3.4")
    assert msgspec.json.decode(msgspec.json.encode(rejection)) == {
        "error": "Container not supported",
        "params": {"container": "zz"},
    }


# --- off-chain ------------------------------------------------------------------


def test_offchain_admits_a_plain_chain():
    r = rules(Container(id="a"), Container(id="b", external=False))
    assert check_offchain(r, ["a", "b"], False, "10.1.2.3") is None


def test_offchain_rules_in_order():
    r = rules(
        Container(id="ext", allowed_ips=("10.0.0.0/8",)),
        Container(id="int", external=False, generates_proofs=True),
    )
    assert check_offchain(r, [], True, "x") == reject("No containers specified")
    # unknown beats every later rule, and the first unknown id is named
    assert check_offchain(r, ["int", "nope", "gone"], True, "x") == reject(
        "Container not supported", container="nope"
    )
    assert check_offchain(r, ["int", "ext"], True, "x") == reject(
        "First container must be external", first_container="int"
    )
    # proof is checked before the IP allow-list
    assert check_offchain(r, ["ext"], True, "192.168.0.1") == reject(
        "Container does not generate proof", container="ext"
    )
    assert check_offchain(r, ["ext", "int"], True, "192.168.0.1") == reject(
        "Container not allowed for address", container="ext", address="192.168.0.1"
    )
    assert check_offchain(r, ["ext", "int"], True, "10.9.9.9") is None


def test_offchain_proof_only_matters_for_the_last_container():
    r = rules(Container(id="prover", generates_proofs=True), Container(id="plain"))
    assert check_offchain(r, ["prover", "plain"], True, "::1") == reject(
        "Container does not generate proof", container="plain"
    )
    assert check_offchain(r, ["plain", "prover"], True, "::1") is None
    assert check_offchain(r, ["prover", "plain"], False, "::1") is None


def test_ip_allow_list_checks_every_container_of_the_chain():
    r = rules(
        Container(id="a", allowed_ips=("10.0.0.0/8",)),
        Container(id="b", allowed_ips=("10.1.0.0/16", "2001:db8::/32")),
    )
    assert check_offchain(r, ["a", "b"], False, "10.1.0.7") is None
    assert check_offchain(r, ["a", "b"], False, "10.2.0.7") == reject(
        "Container not allowed for address", container="b", address="10.2.0.7"
    )


def test_cidr_with_host_bits_and_single_addresses():
    r = rules(Container(id="a", allowed_ips=("10.0.0.5/8", "192.168.1.7")))
    assert check_offchain(r, ["a"], False, "10.200.3.4") is None
    assert check_offchain(r, ["a"], False, "192.168.1.7") is None
    assert check_offchain(r, ["a"], False, "192.168.1.8") is not None


def test_ipv6_clients():
    r = rules(Container(id="a", allowed_ips=("2001:db8::1/32", "127.0.0.1")))
    assert check_offchain(r, ["a"], False, "2001:db8:ffff::42") is None
    assert check_offchain(r, ["a"], False, "2001:db9::1") is not None
    assert check_offchain(r, ["a"], False, "::ffff:127.0.0.1") is None  # IPv4-mapped
    assert check_offchain(r, ["a"], False, "::1") is not None


@pytest.mark.parametrize("client", ["", "unknown", "10.0.0.1:5000", "300.1.1.1"])
def test_unparseable_client_never_matches_an_allow_list(client):
    r = rules(Container(id="open"), Container(id="closed", allowed_ips=("0.0.0.0/0", "::/0")))
    assert check_offchain(r, ["open"], False, client) is None
    assert check_offchain(r, ["closed"], False, client) == reject(
        "Container not allowed for address", container="closed", address=client
    )


def test_malformed_allowed_ip_names_the_field():
    with pytest.raises(ValueError, match=r"containers\[a\]\.allowed_ips"):
        rules(Container(id="a", allowed_ips=("10.0.0.300/8",)))


# --- delegated ------------------------------------------------------------------


def delegated(r, containers=("a",), owner=OWNER, verifier=ZERO, expiry=2000, now=1000.0, **kw):
    return check_delegated(r, containers, owner, verifier, expiry, now, **kw)


def test_delegated_admits():
    assert delegated(rules(Container(id="a"))) is None
    assert delegated(rules(Container(id="a")), expiry=1000, now=1000.0) is None  # not yet past


def test_delegated_rules_in_order():
    r = rules(
        Container(id="int", external=False),
        Container(id="a", allowed_delegate_addresses=(OTHER.lower(),)),
        Container(id="p", generates_proofs=True),
    )
    summary = {"owner": OWNER, "expiry": 999, "nonce": 7}
    off = rules(Container(id="a"), chain=False)
    assert delegated(off, expiry=999, nonce=7) == reject(
        "Chain not enabled", delegated_subscription=summary
    )
    assert delegated(r, None, expiry=999, nonce=7) == reject(
        "Signature expired", delegated_subscription=summary
    )
    assert delegated(r, None, container_hash=b"\xab" * 32) == reject(
        "Container not supported", container="0x" + "ab" * 32
    )
    assert delegated(r, None, container_hash="0xFF") == reject(
        "Container not supported", container="0xFF"
    )
    assert delegated(r, ("int", "p"), verifier=VERIFIER) == reject(
        "First container must be external", first_container="int"
    )
    assert delegated(r, ("a",), verifier=VERIFIER) == reject(
        "Container does not generate proof", container="a"
    )
    assert delegated(r, ("p", "a")) == reject(
        "Container not allowed for address", container="a", address=OWNER
    )
    assert delegated(r, ("p", "a"), owner=OTHER.upper().replace("0X", "0x")) is None
    assert delegated(r, ("a", "p"), owner=OTHER, verifier=VERIFIER) is None


def test_delegated_params_are_json_safe():
    rejection = delegated(rules(Container(id="a"), chain=False))
    assert msgspec.json.decode(msgspec.json.encode(rejection))["params"] == {
        "delegated_subscription": {"owner": OWNER, "expiry": 2000, "nonce": None}
    }


def test_delegated_ignores_ip_and_address_lists_of_other_kinds():
    r = rules(Container(id="a", allowed_ips=("10.0.0.0/8",), allowed_addresses=(OTHER,)))
    assert delegated(r) is None


# --- on-chain -------------------------------------------------------------------


def onchain(
    r,
    containers=("a",),
    owner=OWNER,
    verifier=ZERO,
    amount=0,
    token=ZERO,
    has_payment_address=True,
    completed=False,
):
    return check_onchain(
        r, owner, containers, verifier, amount, token, has_payment_address, completed
    )


def test_onchain_admits():
    assert onchain(rules(Container(id="a"))) is None


def test_onchain_rules_in_order():
    r = rules(
        Container(id="int", external=False),
        Container(id="a", allowed_addresses=(OTHER,)),
        Container(id="p", generates_proofs=True, accepted_payments={TOKEN: 5}),
    )
    assert onchain(r, None, completed=True) == reject("Subscription completed", owner=OWNER)
    assert onchain(r, None) == reject("Container-set not supported", owner=OWNER)
    assert onchain(r, ()) == reject("Container-set not supported", owner=OWNER)
    assert onchain(r, ("int", "a"), verifier=VERIFIER) == reject(
        "First container must be external", first_container="int"
    )
    # allowed_addresses comes before the proof rule on-chain
    assert onchain(r, ("p", "a"), verifier=VERIFIER) == reject(
        "Container not allowed for address", container="a", address=OWNER
    )
    assert onchain(r, ("p", "a"), owner=OTHER.lower(), verifier=VERIFIER) == reject(
        "Container does not generate proof", container="a"
    )
    rejection = onchain(r, ("a", "p"), owner=OTHER, verifier=VERIFIER)
    assert rejection is not None and rejection.error == "Invalid payment"
    assert onchain(r, ("a", "p"), owner=OTHER, verifier=VERIFIER, amount=5, token=TOKEN) is None


def test_payment_requires_a_payment_address():
    r = rules(Container(id="a"))
    rejection = onchain(r, amount=1, has_payment_address=False)
    assert rejection is not None and rejection.error == "Invalid payment"
    assert rejection.params["reason"] == "node has no payment address"
    assert onchain(r, amount=1) is None
    assert onchain(r, amount=0, has_payment_address=False) is None


def test_payment_token_compared_checksummed_and_minimum_summed():
    r = rules(
        Container(id="a", accepted_payments={TOKEN.lower(): 3, ZERO: 1}),
        Container(id="b", accepted_payments={TOKEN: 4}),
        Container(id="free"),
    )
    assert onchain(r, ("a", "b", "free"), amount=7, token=TOKEN.lower()) is None
    low = onchain(r, ("a", "b", "free"), amount=6, token=TOKEN)
    assert low is not None and low.params["reason"] == "payment below the minimum of 7"
    eth = onchain(r, ("a", "b"), amount=100, token=ZERO)
    assert eth is not None and eth.params["reason"] == "token not accepted by b"
    assert onchain(r, ("a", "free"), amount=1, token=ZERO) is None
    bad = onchain(r, ("a",), amount=5, token="not-an-address")
    assert bad is not None and bad.params["reason"] == "payment token is not an address"


def test_containers_with_accepted_payments_refuse_unpaid_subscriptions():
    r = rules(Container(id="a", accepted_payments={TOKEN: 0}))
    assert onchain(r, amount=0, token=TOKEN) is None
    rejection = onchain(r, amount=0, token=ZERO)
    assert rejection is not None and rejection.error == "Invalid payment"


def test_malformed_payment_token_in_config_names_the_field():
    with pytest.raises(ValueError, match=r"containers\[a\]\.accepted_payments"):
        rules(Container(id="a", accepted_payments={"0x1234": 1}))
