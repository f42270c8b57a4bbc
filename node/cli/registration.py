"""``infernet-node register-node / activate-node / deactivate-node / node-status``:
node registration with a NodeManager (the SDK v0 Manager interface).

Chain settings come from config.json (``chain.rpc_url``, ``chain.registry_address``,
``chain.wallet.private_key`` or INFERNET_PRIVATE_KEY). The NodeManager is, in order:
``--manager``, the config key ``chain.node_manager_address``, or the Coordinator's
``NODE_MANAGER()`` (our suite). Cooldowns are judged by chain time.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address

from node.chain import contracts
from node.chain.reverts import decode_revert
from node.chain.rpc import HttpRpc
from node.chain.rpc_types import Receipt, Rpc, RpcError
from node.chain.subscription import ZERO_ADDRESS
from node.config import ConfigError, load_config

log = logging.getLogger(__name__)

INACTIVE, REGISTERED, ACTIVE = 0, 1, 2
RECEIPT_TIMEOUT = 120.0
RECEIPT_POLL = 0.2


class RegistrationError(Exception):
    """A problem to print on one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands: list[tuple[str, str, Callable[[argparse.Namespace, Setup], int], bool]] = [
        ("register-node", "register a node with the NodeManager (starts its cooldown)",
         _register_node, True),
        ("activate-node", "activate this node once its cooldown has passed", _activate_node,
         False),
        ("deactivate-node", "deactivate this node", _deactivate_node, False),
        ("node-status", "show a node's registration status", _node_status, True),
    ]
    for name, help_text, action, takes_node in commands:
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:]
                           + ". Reads the chain settings from config.json.")
        p.add_argument("--config", default=None, metavar="PATH",
                       help="config file (default: $INFERNET_CONFIG_PATH or config.json)")
        p.add_argument("--manager", default=None, metavar="ADDRESS",
                       help="NodeManager address (default: chain.node_manager_address, "
                            "else the Coordinator's NODE_MANAGER())")
        p.add_argument("--timeout", type=float, default=RECEIPT_TIMEOUT, metavar="SECONDS",
                       help="how long to wait for the transaction to be mined")
        if takes_node:
            p.add_argument("--node", default=None, metavar="ADDRESS",
                           help="the node account (default: the configured key's address)")
        p.set_defaults(handler=_runner(action))


@dataclass
class Setup:
    rpc: Rpc
    account: LocalAccount | None
    manager: str
    max_gas_limit: int
    timeout: float

    @property
    def address(self) -> str:
        if self.account is None:
            raise RegistrationError("no node key: set chain.wallet.private_key or "
                                    "INFERNET_PRIVATE_KEY", code=2)
        return str(self.account.address)


def _runner(action: Callable[[argparse.Namespace, Setup], int]
            ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return action(args, _setup(args))
        except RegistrationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.code
        except RpcError as exc:
            print(f"error: RPC failed: {exc}", file=sys.stderr)
            return 1
    return run


def _setup(args: argparse.Namespace) -> Setup:
    try:
        config = load_config(args.config).config
    except ConfigError as exc:
        raise RegistrationError(str(exc), code=2) from None
    except OSError as exc:
        raise RegistrationError(f"cannot read the config: {exc}", code=2) from None
    chain = config.chain
    if not chain.rpc_url:
        raise RegistrationError("chain.rpc_url is not set in the config", code=2)
    account = None
    if chain.wallet is not None and chain.wallet.private_key:
        try:
            account = Account.from_key(chain.wallet.private_key)
        except (ValueError, TypeError):
            raise RegistrationError("chain.wallet.private_key is not a valid private key",
                                    code=2) from None
    try:
        rpc = HttpRpc(chain.rpc_url)
    except ValueError as exc:
        raise RegistrationError(f"chain.rpc_url: {exc}", code=2) from None
    manager = _manager_address(rpc, args.manager,
                               getattr(chain, "node_manager_address", None),
                               chain.registry_address)
    max_gas = chain.wallet.max_gas_limit if chain.wallet is not None else 5_000_000
    return Setup(rpc=rpc, account=account, manager=manager, max_gas_limit=max_gas,
                 timeout=args.timeout)


def _manager_address(rpc: Rpc, option: str | None, configured: str | None,
                     registry: str | None) -> str:
    for source, value in (("--manager", option), ("chain.node_manager_address", configured)):
        if value:
            if not is_address(value):
                raise RegistrationError(f"{source} is not an address: {value!r}", code=2)
            return to_checksum_address(value)
    if not registry or not is_address(registry):
        raise RegistrationError("no NodeManager address: pass --manager, or set "
                                "chain.registry_address so it can be read from the Coordinator",
                                code=2)
    coordinator = contracts.Registry(rpc, registry).addresses().coordinator
    manager = contracts.Coordinator(rpc, coordinator).node_manager()
    if manager == ZERO_ADDRESS:
        raise RegistrationError(f"the Coordinator at {coordinator} has no NodeManager: node "
                                "registration is off there (any address may deliver); pass "
                                "--manager to use another one")
    return manager


def _node(args: argparse.Namespace, setup: Setup) -> str:
    node: str | None = getattr(args, "node", None)
    if node is None:
        return setup.address
    if not is_address(node):
        raise RegistrationError(f"--node is not an address: {node!r}", code=2)
    return to_checksum_address(node)


# -- chain helpers ---------------------------------------------------------------------

def utc(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def cooldown_text(cooldown_start: int, cooldown: int, now: int) -> str:
    end = cooldown_start + cooldown
    left = max(end - now, 0)
    return f"cooldown runs until {utc(end)} ({math.ceil(left / 60)} min left)"


def send_transaction(rpc: Rpc, account: LocalAccount, to: str, data: bytes, *,
                     max_gas_limit: int = 5_000_000,
                     timeout: float = RECEIPT_TIMEOUT) -> Receipt:
    """Simulates (gas estimate), signs and sends one transaction, then waits for its
    receipt. A revert in simulation raises RpcError(kind="revert") before sending."""
    sender = account.address
    estimate = rpc.estimate_gas({"from": sender, "to": to, "data": data})
    gas = min(estimate * 6 // 5 + 10_000, max_gas_limit)
    tx: dict[str, Any] = {"chainId": rpc.chain_id(), "nonce": rpc.nonce(sender, "pending"),
                          "to": to, "data": data, "value": 0, "gas": gas}
    fees = rpc.fee_suggestion()
    if fees is None:
        tx["gasPrice"] = rpc.gas_price()
    else:
        tx["maxFeePerGas"], tx["maxPriorityFeePerGas"] = fees
    signed = account.sign_transaction(tx)
    tx_hash = rpc.send_raw(bytes(signed.raw_transaction))
    log.info("registration transaction sent", extra={"tx_hash": tx_hash, "to": to})
    return wait_for_receipt(rpc, tx_hash, timeout)


def wait_for_receipt(rpc: Rpc, tx_hash: str, timeout: float = RECEIPT_TIMEOUT) -> Receipt:
    deadline = time.monotonic() + timeout
    while True:
        receipt = rpc.receipt(tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() >= deadline:
            raise RegistrationError(f"transaction {tx_hash} not mined within {timeout:.0f} s")
        time.sleep(RECEIPT_POLL)


def _send(setup: Setup, data: bytes, what: str) -> Receipt:
    if setup.account is None:
        raise RegistrationError("no node key: set chain.wallet.private_key or "
                                "INFERNET_PRIVATE_KEY", code=2)
    try:
        receipt = send_transaction(setup.rpc, setup.account, setup.manager, data,
                                   max_gas_limit=setup.max_gas_limit, timeout=setup.timeout)
    except RpcError as exc:
        if exc.kind != "revert":
            raise
        raise RegistrationError(f"{what} refused: {_revert_text(setup, exc.data or b'')}") \
            from None
    if receipt.status != 1:
        raise RegistrationError(f"{what}: transaction {receipt.tx_hash} reverted in block "
                                f"{receipt.block_number}")
    return receipt


def _revert_text(setup: Setup, data: bytes) -> str:
    decoded = decode_revert(data)
    if decoded.name == "CooldownActive" and decoded.args:
        now = setup.rpc.block("latest").timestamp
        return cooldown_text(int(decoded.args[0]),
                             contracts.cooldown(setup.rpc, setup.manager), now)
    if decoded.name == "NodeNotRegisterable" and len(decoded.args) == 2:
        return f"node {to_checksum_address(decoded.args[0])} is already " \
               f"{_status_name(int(decoded.args[1]))}"
    if decoded.name == "NodeNotActivateable" and decoded.args:
        return f"the node is {_status_name(int(decoded.args[0]))}, not Registered"
    return decoded.reason


def _status_name(status: int) -> str:
    names = contracts.NODE_STATUS_NAMES
    return names[status] if 0 <= status < len(names) else f"status {status}"


@dataclass(frozen=True)
class NodeState:
    status: int
    cooldown_start: int
    cooldown: int
    now: int

    @property
    def cooling_down(self) -> bool:
        return self.now < self.cooldown_start + self.cooldown

    def cooldown_text(self) -> str:
        return cooldown_text(self.cooldown_start, self.cooldown, self.now)


def _already(node: str, status: int) -> int:
    print(f"node {node} is already {_status_name(status)}; nothing to do")
    return 0


def _state(setup: Setup, node: str) -> NodeState:
    info, cooldown = contracts.run_batch(setup.rpc,
                                         contracts.node_info_calls(setup.manager, node))
    for answer in (info, cooldown):
        if isinstance(answer, RpcError):
            if answer.kind in ("revert", "invalid"):
                raise RegistrationError(f"{setup.manager} does not look like a NodeManager "
                                        f"({answer.message})")
            raise answer
    return NodeState(status=info[0], cooldown_start=info[1], cooldown=cooldown,
                     now=setup.rpc.block("latest").timestamp)


# -- commands --------------------------------------------------------------------------

def _register_node(args: argparse.Namespace, setup: Setup) -> int:
    node = _node(args, setup)
    state = _state(setup, node)
    if state.status != INACTIVE:
        return _already(node, state.status)
    receipt = _send(setup, contracts.encode_register_node(node), "registerNode")
    print(f"registered node {node} with NodeManager {setup.manager} "
          f"(tx {receipt.tx_hash}, block {receipt.block_number}); "
          f"{_state(setup, node).cooldown_text()}, then run activate-node")
    return 0


def _activate_node(args: argparse.Namespace, setup: Setup) -> int:
    node = setup.address
    state = _state(setup, node)
    if state.status == ACTIVE:
        return _already(node, state.status)
    if state.status == INACTIVE:
        raise RegistrationError(f"node {node} is not registered: run register-node first")
    if state.cooling_down:
        raise RegistrationError(f"cannot activate node {node} yet: {state.cooldown_text()}")
    receipt = _send(setup, contracts.encode_activate_node(), "activateNode")
    print(f"activated node {node} (tx {receipt.tx_hash}, block {receipt.block_number}); "
          "it may now deliver")
    return 0


def _deactivate_node(args: argparse.Namespace, setup: Setup) -> int:
    node = setup.address
    state = _state(setup, node)
    if state.status == INACTIVE:
        return _already(node, state.status)
    receipt = _send(setup, contracts.encode_deactivate_node(), "deactivateNode")
    print(f"deactivated node {node} (tx {receipt.tx_hash}, block {receipt.block_number}); "
          "registering again starts a new cooldown")
    return 0


def _node_status(args: argparse.Namespace, setup: Setup) -> int:
    node = _node(args, setup)
    state = _state(setup, node)
    line = f"node {node}: {_status_name(state.status)} (NodeManager {setup.manager})"
    if state.status == REGISTERED:
        if state.cooling_down:
            line += "; " + state.cooldown_text()
        else:
            line += "; cooldown over, run activate-node"
    print(line)
    return 0
