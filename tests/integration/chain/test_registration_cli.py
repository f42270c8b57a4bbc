"""register-node / activate-node / deactivate-node / node-status against anvil with our
suite deployed with a NodeManager (and one without, for the error path)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.chain import contracts
from node.chain.rpc import HttpRpc
from node.cli import registration
from tests.chain_support import ANVIL_ADDRESSES, NODE_KEY, ChainSession, deployed_chain
from tests.contracts.helpers import request_callback
from tests.integration.chain.conftest import send

pytestmark = pytest.mark.chain

COOLDOWN = 3600


@pytest.fixture(scope="module")
def managed_session() -> Iterator[ChainSession]:
    with deployed_chain(node_manager=True) as session:
        yield session


@pytest.fixture
def managed(managed_session: ChainSession) -> Iterator[ChainSession]:
    with managed_session.isolated() as session:
        yield session


@pytest.fixture(autouse=True)
def _no_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERNET_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("INFERNET_CONFIG_PATH", raising=False)


def _config(tmp_path: Path, chain: ChainSession, **chain_keys: object) -> str:
    section: dict[str, object] = {"rpc_url": chain.anvil.rpc_url,
                                  "registry_address": chain.deployment.registry,
                                  "wallet": {"private_key": NODE_KEY}}
    section.update(chain_keys)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"chain": {k: v for k, v in section.items() if v is not None}}))
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    registration.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_walk_through_registration(managed: ChainSession, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, managed)
    node = managed.node

    code, out, _ = _run(capsys, "node-status", "--config", config)
    assert code == 0 and f"node {node}: Inactive" in out
    assert managed.deployment.node_manager in out, "found through the Coordinator's getter"

    code, _, err = _run(capsys, "activate-node", "--config", config)
    assert code == 1 and "not registered" in err

    code, out, _ = _run(capsys, "register-node", "--config", config)
    registered_at = managed.now()
    assert code == 0 and "registered node" in out and "(60 min left)" in out
    rpc = HttpRpc(managed.anvil.rpc_url)
    manager = managed.deployment.node_manager
    assert contracts.node_info(rpc, manager, node) == (1, registered_at)
    assert contracts.cooldown(rpc, manager) == COOLDOWN

    code, out, _ = _run(capsys, "register-node", "--config", config)
    assert code == 0 and "already Registered" in out

    managed.mine_at(registered_at + COOLDOWN - 600)
    code, _, err = _run(capsys, "activate-node", "--config", config)
    until = registration.utc(registered_at + COOLDOWN)
    assert code == 1 and f"cooldown runs until {until} (10 min left)" in err
    code, out, _ = _run(capsys, "node-status", "--config", config)
    assert "Registered" in out and "(10 min left)" in out

    managed.mine_at(registered_at + COOLDOWN)
    code, out, _ = _run(capsys, "node-status", "--config", config)
    assert "cooldown over" in out
    code, out, _ = _run(capsys, "activate-node", "--config", config)
    assert code == 0 and "activated node" in out
    assert contracts.node_info(rpc, manager, node) == (2, 0)
    sub_id = request_callback(managed)
    send(rpc, NODE_KEY, managed.deployment.coordinator,
         contracts.Coordinator.encode_deliver_compute(sub_id, 1, b"", b"out", b"",
                                                      contracts.ZERO_ADDRESS))

    code, out, _ = _run(capsys, "activate-node", "--config", config)
    assert code == 0 and "already Active" in out
    code, out, _ = _run(capsys, "deactivate-node", "--config", config)
    assert code == 0 and "deactivated" in out
    assert contracts.node_info(rpc, manager, node) == (0, 0)
    code, out, _ = _run(capsys, "deactivate-node", "--config", config)
    assert code == 0 and "already Inactive" in out


def test_register_another_node_and_explicit_manager(managed: ChainSession, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    other = ANVIL_ADDRESSES[6]
    config = _config(tmp_path, managed, registry_address=None)
    manager = managed.deployment.node_manager
    code, out, _ = _run(capsys, "register-node", "--config", config, "--manager", manager,
                        "--node", other)
    assert code == 0 and other in out
    code, out, _ = _run(capsys, "node-status", "--config", config, "--manager", manager,
                        "--node", other)
    assert f"node {other}: Registered" in out


def test_a_refused_transaction_is_explained(managed: ChainSession) -> None:
    # Bypasses the pre-checks to see how a revert reads: CooldownActive(start).
    rpc = HttpRpc(managed.anvil.rpc_url)
    manager = managed.deployment.node_manager
    send(rpc, NODE_KEY, manager, contracts.encode_register_node(managed.node))
    start = managed.now()
    setup = registration.Setup(rpc=rpc, account=registration.Account.from_key(NODE_KEY),
                               manager=manager, max_gas_limit=1_000_000, timeout=10)
    with pytest.raises(registration.RegistrationError) as refused:
        registration._send(setup, contracts.encode_activate_node(), "activateNode")
    message = str(refused.value)
    assert message.startswith("activateNode refused: cooldown runs until "
                              + registration.utc(start + COOLDOWN))
    assert re.search(r"\((60|59) min left\)", message)
    with pytest.raises(registration.RegistrationError, match="already Registered"):
        registration._send(setup, contracts.encode_register_node(managed.node), "registerNode")


def test_configuration_errors(chain: ChainSession, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "node-status", "--config", _config(tmp_path, chain))
    assert code == 1 and "has no NodeManager" in err

    code, _, err = _run(capsys, "node-status", "--config",
                        _config(tmp_path, chain, rpc_url=None))
    assert code == 2 and "chain.rpc_url" in err

    code, _, err = _run(capsys, "node-status", "--config",
                        _config(tmp_path, chain, rpc_url="ftp://example"))
    assert code == 2 and "chain.rpc_url" in err

    code, _, err = _run(capsys, "node-status", "--config", _config(tmp_path, chain),
                        "--manager", "not-an-address")
    assert code == 2 and "--manager" in err

    no_key = _config(tmp_path, chain, wallet=None)
    code, _, err = _run(capsys, "activate-node", "--config", no_key, "--manager",
                        chain.deployment.registry)
    assert code == 2 and "INFERNET_PRIVATE_KEY" in err

    code, _, err = _run(capsys, "node-status", "--config", _config(tmp_path, chain),
                        "--manager", chain.deployment.registry)
    assert code == 1 and "does not look like a NodeManager" in err

    code, _, err = _run(capsys, "node-status", "--config", str(tmp_path / "missing.json"))
    assert code == 2 and err.startswith("error:")
    assert "Traceback" not in err


def test_cooldown_text() -> None:
    assert registration.cooldown_text(1_700_000_000, 3600, 1_700_000_000 + 1801) == (
        "cooldown runs until 2023-11-14 23:13:20 UTC (30 min left)")
    assert registration.cooldown_text(0, 3600, 10_000).endswith("(0 min left)")
