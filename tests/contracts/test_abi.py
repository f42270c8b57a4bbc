"""Our compiled artifacts present every function, event and error of the real SDK
v1.1.0 contracts (shared/spec/abi), with the selectors the spec lists."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from node.chain.deployment import load_artifact

REPO = Path(__file__).resolve().parents[2]


def _spec_abi_dir() -> Path:
    """shared/spec/abi: named by INFERNET_SPEC_DIR, or beside the repository, or beside the
    local repository this one was cloned from (a CI-style clone in a temp folder)."""
    candidates = [Path(os.environ["INFERNET_SPEC_DIR"]) / "abi"] \
        if os.environ.get("INFERNET_SPEC_DIR") else []
    candidates.append(REPO.parent / "shared" / "spec" / "abi")
    origin = subprocess.run(["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True, check=False).stdout.strip()
    if origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / "shared" / "spec" / "abi")
    return next((c for c in candidates if c.is_dir()), candidates[0])


SPEC_ABI_DIR = _spec_abi_dir()

# spec contract -> our artifact presenting its interface
IMPLEMENTED_BY = {
    "Registry": ["Registry"],
    "Coordinator": ["Coordinator", "EIP712Coordinator"],
    "EIP712Coordinator": ["EIP712Coordinator"],
    "Inbox": ["Inbox"],
    "Reader": ["Reader"],
    "Fee": ["Fee"],
    "WalletFactory": ["WalletFactory"],
    "Wallet": ["Wallet"],
    "ConsumerInterface": ["ExampleDelegatorConsumer"],
}
CONSUMERS = ["ExampleCallbackConsumer", "ExampleSubscriptionConsumer", "ExampleLazyConsumer",
             "ExampleDelegatorConsumer", "LoadConsumer"]

# onchain.md §9: the v0 Manager interface NodeManager implements.
NODE_MANAGER_SELECTORS = {
    "nodeInfo(address)": "23c2e2bc",
    "cooldown()": "787a08a6",
    "registerNode(address)": "672d7a0d",
    "activateNode()": "105ddd1d",
    "deactivateNode()": "96ef592e",
    "NodeNotRegisterable(address,uint8)": "5acfd518",
    "NodeNotActivateable(uint8)": "33daa7f9",
    "CooldownActive(uint32)": "c84b5bdd",
    "NodeNotActive()": "8741cbb8",
}
# onchain.md §3.8 errors not in the ABI files (raised by our Coordinator or consumers).
EXTRA_ERRORS = {
    ("EIP712Coordinator", "InvalidSignature()"): "8baa579f",
    ("ExampleDelegatorConsumer", "NotCoordinator()"): "9ec853e6",
    ("TestToken", "InsufficientBalance()"): "f4d678b8",
    ("Wallet", "TransferFailed()"): "90b8ec18",
}


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(_type(i) for i in entry['inputs'])})"


def _entries(abi: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Every function (with outputs and mutability), event (with indexed flags) and error."""
    out: set[tuple[Any, ...]] = set()
    for entry in abi:
        kind = entry["type"]
        if kind == "function":
            outputs = tuple(_type(o) for o in entry["outputs"])
            out.add((kind, _signature(entry), outputs, entry["stateMutability"]))
        elif kind == "event":
            out.add((kind, _signature(entry), tuple(i["indexed"] for i in entry["inputs"])))
        elif kind == "error":
            out.add((kind, _signature(entry)))
    return out


def _spec(name: str) -> dict[str, Any]:
    path = SPEC_ABI_DIR / f"{name}.json"
    if not path.exists():
        pytest.fail(f"spec ABI {path} missing: shared/ must sit beside the repository "
                    "(or set INFERNET_SPEC_DIR to shared/spec)")
    return dict(json.loads(path.read_text()))


def _all_signatures(artifact: str) -> set[str]:
    abi, _ = load_artifact(artifact)
    return {_signature(e) for e in abi if e["type"] in ("function", "error", "event")}


@pytest.mark.parametrize(("spec_name", "artifact"), [
    (spec, ours) for spec, artifacts in IMPLEMENTED_BY.items() for ours in artifacts])
def test_artifact_presents_the_spec_interface(spec_name: str, artifact: str) -> None:
    # Constructors are left out: ours take a NodeManager too (see deploy/contracts).
    missing = _entries(_spec(spec_name)["abi"]) - _entries(load_artifact(artifact)[0])
    assert not missing, f"{artifact} lacks {sorted(missing)}"


@pytest.mark.parametrize("spec_name", sorted(IMPLEMENTED_BY))
def test_spec_method_identifiers_match_our_selectors(spec_name: str) -> None:
    identifiers = _spec(spec_name).get("methodIdentifiers", {})
    ours = _all_signatures(IMPLEMENTED_BY[spec_name][-1])
    for signature, selector in identifiers.items():
        assert signature in ours
        assert function_signature_to_4byte_selector(signature).hex() == selector


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_every_consumer_takes_callbacks_and_serves_inputs(consumer: str) -> None:
    signatures = _all_signatures(consumer)
    assert {
        "rawReceiveCompute(uint32,uint32,uint16,address,bytes,bytes,bytes,bytes32,uint256)",
        "getContainerInputs(uint32,uint32,uint32,address)",
        "NotCoordinator()",
    } <= signatures


def test_node_manager_has_the_v0_manager_interface() -> None:
    signatures = _all_signatures("NodeManager")
    for signature, selector in NODE_MANAGER_SELECTORS.items():
        assert signature in signatures
        assert function_signature_to_4byte_selector(signature).hex() == selector
    events = {_signature(e) for e in load_artifact("NodeManager")[0] if e["type"] == "event"}
    assert events == {"NodeRegistered(address,address,uint32)", "NodeActivated(address)",
                      "NodeDeactivated(address)"}
    assert "NodeNotActive()" in _all_signatures("EIP712Coordinator")


@pytest.mark.parametrize(("artifact", "signature"), sorted(EXTRA_ERRORS))
def test_other_spec_errors_exist_with_their_selectors(artifact: str, signature: str) -> None:
    assert signature in _all_signatures(artifact)
    selector = function_signature_to_4byte_selector(signature).hex()
    assert selector == EXTRA_ERRORS[(artifact, signature)]


def test_proof_verified_topic_matches_the_spec() -> None:
    signature = "ProofVerified(uint32,uint32,address,bool,address,bool)"
    assert signature in _all_signatures("EIP712Coordinator")
    assert keccak(text=signature).hex() == (
        "af1556610075709bf885e17681512d329b1a40f799ee5196f79461e89b656454")


def test_deployable_contracts_have_bytecode() -> None:
    for name in ["Registry", "EIP712Coordinator", "Inbox", "Reader", "Fee", "WalletFactory",
                 "NodeManager", "AtomicVerifier", "TestToken", *CONSUMERS]:
        _, bytecode = load_artifact(name)
        assert bytecode.startswith("0x") and len(bytecode) > 100, name
