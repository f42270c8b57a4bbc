"""Pytest helpers for tests against a real anvil chain with our contract suite.

Importable from any test directory (`from tests.chain_support import ...`):

* `running_anvil()` starts anvil on a free loopback port (restartable on the same
  port and state);
* `deployed_chain()` does that and deploys the suite (optionally with the
  NodeManager) and funds the node and consumer accounts;
* `ChainSession` helpers: time travel, snapshots, revert decoding.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import TxReceipt

from node.chain.deployment import (
    ARTIFACTS_DIR,
    Deployment,
    PaymentWallets,
    contract_at,
    deploy_suite,
    setup_accounts,
)
from node.chain.devchain import (
    ANVIL_KEYS,
    CONSUMER_KEY,
    DEPLOYER_KEY,
    NODE_KEY,
    AnvilError,
    AnvilProcess,
    config_fragment,
)

__all__ = [
    "ANVIL_KEYS",
    "CONSUMER_KEY",
    "DEPLOYER_KEY",
    "NODE_KEY",
    "AnvilHandle",
    "ChainSession",
    "chain",
    "chain_session",
    "deployed_chain",
    "free_port",
    "revert_name",
    "running_anvil",
]

ANVIL_ADDRESSES: tuple[str, ...] = tuple(Account.from_key(k).address for k in ANVIL_KEYS)
START_ATTEMPTS = 3


def free_port() -> int:
    """A loopback TCP port free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AnvilHandle:
    """A running anvil: `.rpc_url`, `.port`, `.w3`; `.stop()` then `.start()` resumes the
    same chain on the same port (state is dumped on stop and reloaded on start)."""

    def __init__(self, process: AnvilProcess) -> None:
        self._process = process

    @property
    def rpc_url(self) -> str:
        return self._process.rpc_url

    @property
    def port(self) -> int:
        return self._process.port

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        self._process.stop()

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 30}))


@contextlib.contextmanager
def running_anvil(block_time: float | None = None, *,
                  extra_args: tuple[str, ...] = ()) -> Iterator[AnvilHandle]:
    """anvil on a free loopback port for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="anvil-state-") as state_dir:
        process = _start_on_free_port(Path(state_dir) / "state.json", block_time, extra_args)
        try:
            yield AnvilHandle(process)
        finally:
            process.stop()


def _start_on_free_port(state_path: Path, block_time: float | None,
                        extra_args: tuple[str, ...]) -> AnvilProcess:
    # Another process may grab the port between free_port() and anvil binding it.
    error: AnvilError | None = None
    for _ in range(START_ATTEMPTS):
        process = AnvilProcess(free_port(), block_time=block_time, state_path=state_path,
                               extra_args=extra_args)
        try:
            process.start()
            return process
        except AnvilError as exc:
            error = exc
    assert error is not None
    raise error


@dataclass
class ChainSession:
    """A deployed suite on a running anvil, with the dev accounts funded."""

    anvil: AnvilHandle
    w3: Web3
    deployment: Deployment
    wallets: PaymentWallets
    deployer: str
    node: str
    consumer: str

    def config_fragment(self) -> dict[str, Any]:
        """What `infernet-node devchain --write-config` writes, for this chain."""
        return config_fragment(self.anvil.rpc_url, NODE_KEY, CONSUMER_KEY,
                               self.deployment.addresses(), dataclasses.asdict(self.wallets))

    def contract(self, name: str, address: str) -> Contract:
        return contract_at(self.w3, name, address)

    @property
    def coordinator(self) -> Contract:
        return self.contract("EIP712Coordinator", self.deployment.coordinator)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        response = self.w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(f"{method} failed: {response['error']}")
        return response.get("result")

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", [snapshot_id]):
            raise RuntimeError(f"evm_revert({snapshot_id}) refused")

    @contextlib.contextmanager
    def isolated(self) -> Iterator[ChainSession]:
        """Everything done inside the block is rolled back (EVM snapshot) afterwards."""
        snapshot = self.snapshot()
        try:
            yield self
        finally:
            self.revert(snapshot)

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def mine_at(self, timestamp: int) -> None:
        """Mines an empty block at `timestamp`; later blocks continue from there."""
        self.rpc("evm_mine", [timestamp])

    def transact(self, fn: ContractFunction, sender: str, value: int = 0) -> TxReceipt:
        """Sends `fn` from an unlocked anvil account and returns the successful receipt."""
        tx_hash = fn.transact({"from": sender, "value": value})  # type: ignore[typeddict-item]
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"transaction reverted: {receipt}"
        return receipt

    def revert_of(self, fn: ContractFunction, sender: str, value: int = 0) -> str:
        """The custom error `fn` reverts with when called from `sender` (fails if it
        does not revert)."""
        try:
            fn.call({"from": sender, "value": value})  # type: ignore[typeddict-item]
        except (ContractCustomError, ContractLogicError) as exc:
            return revert_name(exc)
        raise AssertionError(f"{fn.fn_name} did not revert")


@functools.cache
def _error_selectors() -> dict[str, str]:
    """4-byte selector (0x-hex) → error signature, over every compiled contract."""
    selectors: dict[str, str] = {}
    for path in ARTIFACTS_DIR.glob("*.json"):
        for entry in json.loads(path.read_text())["abi"]:
            if entry["type"] == "error":
                types = ",".join(i["type"] for i in entry["inputs"])
                signature = f"{entry['name']}({types})"
                selectors["0x" + function_signature_to_4byte_selector(signature).hex()] = signature
    return selectors


def revert_name(exc: Exception) -> str:
    """The custom error name in a web3 revert exception (e.g. "IntervalMismatch"), or
    the exception's message when it is not one of our errors."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, bytes):
        data = "0x" + data.hex()
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        signature = _error_selectors().get(data[:10].lower())
        if signature is not None:
            return signature.split("(")[0]
    return str(exc)


@contextlib.contextmanager
def deployed_chain(block_time: float | None = None, *, node_manager: bool = False,
                   fee_bps: int | None = None) -> Iterator[ChainSession]:
    """anvil with our suite deployed by anvil key #0 and the node (#1) and consumer (#2)
    accounts funded, each with a payment Wallet."""
    with running_anvil(block_time) as anvil:
        w3 = anvil.web3()
        kwargs: dict[str, Any] = {"node_manager": node_manager}
        if fee_bps is not None:
            kwargs["fee_bps"] = fee_bps
        deployment = deploy_suite(w3, DEPLOYER_KEY, **kwargs)
        wallets = setup_accounts(w3, deployment, DEPLOYER_KEY, NODE_KEY, CONSUMER_KEY)
        yield ChainSession(
            anvil=anvil,
            w3=w3,
            deployment=deployment,
            wallets=wallets,
            deployer=ANVIL_ADDRESSES[0],
            node=ANVIL_ADDRESSES[1],
            consumer=ANVIL_ADDRESSES[2],
        )


@pytest.fixture(scope="session")
def chain_session() -> Iterator[ChainSession]:
    """One deployed chain per test session (import into a conftest.py to use)."""
    with deployed_chain() as session:
        yield session


@pytest.fixture
def chain(chain_session: ChainSession) -> Iterator[ChainSession]:
    """The session's chain, with everything a test does rolled back afterwards."""
    with chain_session.isolated() as session:
        yield session
