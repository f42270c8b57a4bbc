"""Revert decoding against the spec's selector table and every committed ABI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from node.chain.deployment import ARTIFACTS_DIR
from node.chain.reverts import ERRORS, classify, decode_revert

SPEC_ABI_DIR = Path("/work/shared/spec/abi")

# spec/onchain.md §3.8 and §9.
SPEC_SELECTORS = {
    "InvalidWallet": "0x23455ba1", "IntervalMismatch": "0x4db310c3",
    "IntervalCompleted": "0x2f4ca85b", "UnauthorizedVerifier": "0xb9857aa1",
    "NodeRespondedAlready": "0x88a21e4f", "SubscriptionNotFound": "0x1a00354f",
    "ProofRequestNotFound": "0x1d68b37c", "NotSubscriptionOwner": "0xa7fba711",
    "SubscriptionCompleted": "0xae6704a7", "SubscriptionNotActive": "0xefb74efe",
    "UnsupportedVerifierToken": "0xe2372799", "Reentrancy": "0xab143c06",
    "SignerMismatch": "0x10c74b03", "SignatureExpired": "0x0819bdcd",
    "InvalidSignature": "0x8baa579f", "InsufficientFunds": "0x356680b7",
    "InsufficientAllowance": "0x13be252b", "TransferFailed": "0x90b8ec18",
    "NodeNotAllowed": "0x42764946", "InsufficientBalance": "0xf4d678b8",
    "NotCoordinator": "0x9ec853e6", "NodeNotRegisterable": "0x5acfd518",
    "NodeNotActivateable": "0x33daa7f9", "CooldownActive": "0xc84b5bdd",
    "NodeNotActive": "0x8741cbb8", "GasPriceExceeded": "0x682bad5a",
    "GasLimitExceeded": "0xbe9179a6",
}


def _abi_errors(paths: list[Path]) -> set[str]:
    found = set()
    for path in paths:
        document = json.loads(path.read_text())
        abi = document["abi"] if isinstance(document, dict) else document
        for entry in abi:
            if entry["type"] == "error":
                found.add(f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})")
    return found


@pytest.mark.parametrize(("name", "selector"), sorted(SPEC_SELECTORS.items()))
def test_spec_selectors_decode_to_their_names(name: str, selector: str) -> None:
    assert ERRORS[selector].startswith(name + "(")
    decoded = decode_revert(bytes.fromhex(selector[2:]) + _dummy_args(ERRORS[selector]))
    assert (decoded.name, decoded.selector) == (name, selector)


def _dummy_args(signature: str) -> bytes:
    inner = signature[signature.index("(") + 1:-1]
    types = inner.split(",") if inner else []
    samples = {"address": "0x" + "ab" * 20, "uint8": 1, "uint32": 7, "uint256": 9}
    return abi_encode(types, [samples[t] for t in types])


def test_every_error_in_the_committed_abis_is_known() -> None:
    paths = sorted(ARTIFACTS_DIR.glob("*.json"))
    if SPEC_ABI_DIR.is_dir():
        paths += sorted(SPEC_ABI_DIR.glob("*.json"))
    signatures = _abi_errors(paths)
    assert signatures, "no ABI errors found"
    for signature in signatures:
        selector = "0x" + keccak(text=signature)[:4].hex()
        assert ERRORS.get(selector) == signature


def test_errors_with_arguments_are_decoded() -> None:
    data = bytes.fromhex("c84b5bdd") + abi_encode(["uint32"], [1700000123])
    assert decode_revert(data).args == (1700000123,)
    data = bytes.fromhex("5acfd518") + abi_encode(["address", "uint8"], ["0x" + "12" * 20, 2])
    decoded = decode_revert(data)
    assert decoded.name == "NodeNotRegisterable"
    assert decoded.args == ("0x" + "12" * 20, 2)


def test_error_string_panic_and_empty() -> None:
    error = keccak(text="Error(string)")[:4] + abi_encode(["string"], ["not enough"])
    decoded = decode_revert(error)
    assert (decoded.name, decoded.args, decoded.selector) == ("Error", ("not enough",),
                                                              "0x08c379a0")
    assert "not enough" in decoded.reason
    panic = decode_revert(keccak(text="Panic(uint256)")[:4] + abi_encode(["uint256"], [0x11]))
    assert (panic.name, panic.args, panic.selector) == ("Panic", (0x11,), "0x4e487b71")
    assert "overflow" in panic.reason
    empty = decode_revert(b"")
    assert (empty.name, empty.args, empty.selector) == ("", (), "")
    assert empty.reason == "reverted without data"


def test_unknown_and_truncated_data() -> None:
    unknown = decode_revert(bytes.fromhex("deadbeef01"))
    assert (unknown.name, unknown.selector, unknown.args) == ("Unknown", "0xdeadbeef", (b"\x01",))
    assert unknown.action == "unknown"
    # A known selector whose arguments are cut off still names the error.
    cut = decode_revert(bytes.fromhex("c84b5bdd") + b"\x00" * 5)
    assert (cut.name, cut.args) == ("CooldownActive", ())


@pytest.mark.parametrize(("name", "action"), [
    ("SubscriptionNotFound", "terminal_subscription"),
    ("SubscriptionCompleted", "terminal_subscription"),
    ("InvalidWallet", "terminal_subscription"),
    ("UnsupportedVerifierToken", "terminal_subscription"),
    ("SignerMismatch", "terminal_subscription"),
    ("InvalidSignature", "terminal_subscription"),
    ("NodeNotAllowed", "terminal_subscription"),
    ("SignatureExpired", "terminal_subscription"),
    ("IntervalCompleted", "terminal_interval"),
    ("NodeRespondedAlready", "terminal_interval"),
    ("IntervalMismatch", "terminal_interval"),
    ("SubscriptionNotActive", "retry_later"),
    ("InsufficientFunds", "retry_later"),
    ("InsufficientAllowance", "retry_later"),
    ("InsufficientBalance", "retry_later"),
    ("TransferFailed", "retry_later"),
    ("NodeNotActive", "retry_later"),
    ("Error", "unknown"),
    ("Panic", "unknown"),
    ("", "unknown"),
    ("SomethingElse", "unknown"),
])
def test_classification_follows_the_spec_table(name: str, action: str) -> None:
    assert classify(name) == action
