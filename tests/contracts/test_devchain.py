"""The dev chain: deterministic deployment, the long-running command, and anvil
restarts that keep the chain."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

from node.chain import devchain
from node.chain.deployment import contract_at
from tests.chain_support import ChainSession, free_port, running_anvil

pytestmark = pytest.mark.chain

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _deploy_only(tmp_path: Path, name: str, *extra: str) -> dict[str, object]:
    out = tmp_path / f"{name}.json"
    with running_anvil() as anvil:
        code = devchain.main(["--deploy-only", "--rpc-url", anvil.rpc_url,
                              "--write-config", str(out), *extra])
        assert code == 0
        config = json.loads(out.read_text())
        assert config["rpc_url"] == anvil.rpc_url
    return dict(config)


def test_deployment_gives_the_same_addresses_every_time(tmp_path: Path) -> None:
    first = _deploy_only(tmp_path, "first")
    second = _deploy_only(tmp_path, "second")
    assert first["registry_address"] == REGISTRY
    first.pop("rpc_url")
    second.pop("rpc_url")
    assert first == second
    assert first["private_key"] == devchain.NODE_KEY
    assert first["consumer_private_key"] == devchain.CONSUMER_KEY


def test_node_manager_keeps_the_core_addresses(tmp_path: Path) -> None:
    plain = _deploy_only(tmp_path, "plain")["contracts"]
    managed = _deploy_only(tmp_path, "managed", "--node-manager")["contracts"]
    assert isinstance(plain, dict) and isinstance(managed, dict)
    assert plain["node_manager"] == "0x0000000000000000000000000000000000000000"
    assert managed["node_manager"] != plain["node_manager"]
    core = ("registry", "coordinator", "inbox", "reader", "fee", "wallet_factory")
    assert [plain[k] for k in core] == [managed[k] for k in core]


def test_bad_key_is_reported_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        devchain.main(["--deploy-only", "--node-key", "0x1234"])
    assert "--node-key" in capsys.readouterr().err


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_command_serves_until_terminated(tmp_path: Path) -> None:
    port = free_port()
    config_path = tmp_path / "devchain.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "node.chain.devchain", "--port", str(port),
         "--write-config", str(config_path)], env=env, cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not config_path.exists() and process.poll() is None:
            assert time.monotonic() < deadline, "devchain did not write its config"
            time.sleep(0.1)
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        config = json.loads(config_path.read_text())
        w3 = Web3(Web3.HTTPProvider(config["rpc_url"]))
        registry = contract_at(w3, "Registry", config["registry_address"])
        assert registry.functions.COORDINATOR().call() == config["contracts"]["coordinator"]
        assert w3.eth.get_balance(config["node_address"]) >= 100 * 10**18
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
    assert not _port_open(port)


def test_anvil_restarts_on_the_same_port_with_the_same_state() -> None:
    with running_anvil() as anvil:
        w3 = anvil.web3()
        account = w3.eth.accounts[5]
        tx = w3.eth.send_transaction({"from": w3.eth.accounts[4], "to": account, "value": 12345})
        w3.eth.wait_for_transaction_receipt(tx)
        balance, block = w3.eth.get_balance(account), w3.eth.block_number
        port = anvil.port

        anvil.stop()
        assert not anvil.running
        anvil.start()

        assert anvil.port == port
        w3 = anvil.web3()
        assert w3.eth.get_balance(account) == balance
        assert w3.eth.block_number >= block


def test_session_fragment_matches_the_command_output(chain: ChainSession,
                                                    tmp_path: Path) -> None:
    fragment = chain.config_fragment()
    command = _deploy_only(tmp_path, "command")
    fragment.pop("rpc_url")
    command.pop("rpc_url")
    assert fragment == command
