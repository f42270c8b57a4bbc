"""Deploys our Infernet contract suite (deploy/contracts) with web3, deterministically.

Every contract is created with CREATE from one deployer account, in a fixed order,
so the addresses depend only on the deployer's address and starting nonce: a fresh
anvil gives the same addresses on every run. The Registry is deployed first with
the *predicted* addresses of the contracts that follow, because those read the
Registry in their constructors.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp  # type: ignore[import-untyped]
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD
from web3.types import TxReceipt, Wei

log = logging.getLogger(__name__)

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# Receives protocol fees; an address nobody sends transactions from, so tests can
# check its balance exactly.
DEFAULT_FEE_RECIPIENT = to_checksum_address("0x000000000000000000000000000000000000fee0")
DEFAULT_FEE_BPS = 500
RECEIPT_TIMEOUT = 60.0
FEE_REFRESH_EVERY = 8


class DeploymentError(RuntimeError):
    """A deployment or setup transaction failed, or an artifact is missing."""


def load_artifact(name: str) -> tuple[list[dict[str, Any]], str]:
    """The ABI and creation bytecode (0x-hex; "0x" for abstract contracts) of `name`."""
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        artifact = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentError(
            f"no compiled artifact for contract {name!r} in {ARTIFACTS_DIR}") from None
    return artifact["abi"], artifact["bytecode"]


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for the deployed contract `name` at `address`."""
    abi, _ = load_artifact(name)
    return w3.eth.contract(address=to_checksum_address(address), abi=abi)


def create_address(sender: str, nonce: int) -> str:
    """The address CREATE gives a contract deployed by `sender` at `nonce`."""
    encoded = rlp.encode([bytes.fromhex(sender[2:]), nonce])
    return to_checksum_address(keccak(encoded)[12:])


def encode_call(fn: ContractFunction) -> bytes:
    """Calldata of a bound contract function call."""
    selector = function_abi_to_4byte_selector(fn.abi)
    return selector + abi_encode(get_abi_input_types(fn.abi), list(fn.args))


class Sender:
    """Signs and sends transactions from one key, counting nonces locally so that many
    transactions can be in flight before any receipt is awaited."""

    def __init__(self, w3: Web3, private_key: str) -> None:
        self.w3 = w3
        self.account: LocalAccount = Account.from_key(private_key)
        self.address: str = self.account.address
        self.chain_id = w3.eth.chain_id
        self.nonce: int = w3.eth.get_transaction_count(self.account.address, "pending")
        self._tip = 1_000_000_000
        self._max_fee = 0
        self._sent = 0

    def _refresh_max_fee(self) -> None:
        # Long bursts of full blocks raise the base fee by up to 12.5 % a block, so the
        # cap is re-read now and then and kept far above the current base fee.
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        self._max_fee = max(self._max_fee, 8 * base_fee + self._tip)

    def send(self, *, data: bytes = b"", to: str | None = None, value: int = 0,
             gas: int) -> bytes:
        if self._sent % FEE_REFRESH_EVERY == 0:
            self._refresh_max_fee()
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "gas": gas,
            "maxFeePerGas": self._max_fee,
            "maxPriorityFeePerGas": self._tip,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        signed = self.account.sign_transaction(tx)
        tx_hash = bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
        self.nonce += 1
        self._sent += 1
        return tx_hash

    def call(self, fn: ContractFunction, *, gas: int | None = None, value: int = 0) -> bytes:
        """Sends a contract call; gas is estimated unless given (estimation needs the
        call's preconditions to be mined already)."""
        if gas is None:
            estimate = fn.estimate_gas({"from": self.account.address, "value": Wei(value)})
            gas = estimate * 5 // 4 + 20_000
        return self.send(data=encode_call(fn), to=fn.address, value=value, gas=gas)

    def wait(self, tx_hashes: Sequence[bytes], what: str) -> list[TxReceipt]:
        receipts = []
        for tx_hash in tx_hashes:
            # Ask once before polling: web3's waiter sleeps before its first retry, which
            # dominates when hundreds of transactions are already mined.
            try:
                receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                receipt = self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=RECEIPT_TIMEOUT)
            if receipt["status"] != 1:
                raise DeploymentError(f"{what}: transaction 0x{tx_hash.hex()} reverted")
            receipts.append(receipt)
        return receipts


@dataclass(frozen=True)
class Deployment:
    """Addresses of a deployed suite (checksummed); node_manager is the zero address
    when node registration is off."""

    chain_id: int
    deployer: str
    registry: str
    coordinator: str
    inbox: str
    reader: str
    fee: str
    wallet_factory: str
    node_manager: str
    verifier: str
    test_token: str
    callback_consumer: str
    subscription_consumer: str
    delegator_consumer: str
    lazy_consumer: str
    load_consumer: str
    fee_recipient: str

    def addresses(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if isinstance(v, str)}


def _deploy_gas(initcode: bytes) -> int:
    # Upper bound without estimation (later contracts' constructors read contracts that
    # may not be mined yet): intrinsic + calldata + code deposit + constructor work.
    size = len(initcode)
    return 53_000 + 16 * size + 200 * size + 600_000


def encode_deploy(name: str, args: Sequence[Any]) -> bytes:
    """Creation code of contract `name` followed by its ABI-encoded constructor args."""
    abi, bytecode = load_artifact(name)
    if bytecode in ("", "0x"):
        raise DeploymentError(f"contract {name!r} is abstract and cannot be deployed")
    constructor = next((entry for entry in abi if entry["type"] == "constructor"), None)
    types = get_abi_input_types(constructor) if constructor else []  # type: ignore[arg-type]
    return bytes.fromhex(bytecode[2:]) + abi_encode(types, list(args))


def deploy_suite(
    w3: Web3,
    deployer_key: str,
    *,
    node_manager: bool = False,
    fee_recipient: str = DEFAULT_FEE_RECIPIENT,
    fee_bps: int = DEFAULT_FEE_BPS,
) -> Deployment:
    """Deploys Registry, EIP712Coordinator, Inbox, Reader, Fee, WalletFactory, the
    optional NodeManager, the test verifier and token, and the example consumers.

    The core contracts take the deployer's first six nonces in every mode; the
    NodeManager (when asked for) comes next, so the Registry and Coordinator
    addresses do not depend on it.
    """
    sender = Sender(w3, deployer_key)
    start = sender.nonce
    registry = create_address(sender.address, start)
    core = {
        "coordinator": create_address(sender.address, start + 1),
        "inbox": create_address(sender.address, start + 2),
        "reader": create_address(sender.address, start + 3),
        "fee": create_address(sender.address, start + 4),
        "wallet_factory": create_address(sender.address, start + 5),
    }
    manager = create_address(sender.address, start + 6) if node_manager else ZERO_ADDRESS

    plan: list[tuple[str, str, Sequence[Any]]] = [
        ("registry", "Registry", [core["coordinator"], core["inbox"], core["reader"], core["fee"],
                                  core["wallet_factory"]]),
        ("coordinator", "EIP712Coordinator", [registry, manager]),
        ("inbox", "Inbox", [registry]),
        ("reader", "Reader", [registry]),
        ("fee", "Fee", [to_checksum_address(fee_recipient), fee_bps]),
        ("wallet_factory", "WalletFactory", [registry]),
    ]
    if node_manager:
        plan.append(("node_manager", "NodeManager", []))
    # The delegator consumer's signer is the deployer until someone updates it.
    plan += [
        ("verifier", "AtomicVerifier", [registry]),
        ("test_token", "TestToken", []),
        ("callback_consumer", "ExampleCallbackConsumer", [registry]),
        ("subscription_consumer", "ExampleSubscriptionConsumer", [registry]),
        ("delegator_consumer", "ExampleDelegatorConsumer", [registry, sender.address]),
        ("lazy_consumer", "ExampleLazyConsumer", [registry]),
        ("load_consumer", "LoadConsumer", [registry]),
    ]

    addresses: dict[str, str] = {}
    tx_hashes = []
    for field, contract_name, args in plan:
        addresses[field] = create_address(sender.address, sender.nonce)
        data = encode_deploy(contract_name, args)
        tx_hashes.append(sender.send(data=data, gas=_deploy_gas(data)))
    sender.wait(tx_hashes, "deploying the contract suite")

    addresses.setdefault("node_manager", ZERO_ADDRESS)
    if addresses["node_manager"] != manager:
        raise DeploymentError("NodeManager landed at another address than the Coordinator uses")
    deployment = Deployment(
        chain_id=sender.chain_id,
        deployer=sender.address,
        fee_recipient=to_checksum_address(fee_recipient),
        **addresses,
    )
    _check_registry(w3, deployment)
    log.info("contract suite deployed",
             extra={"registry": deployment.registry, "coordinator": deployment.coordinator,
                    "node_manager": deployment.node_manager, "chain_id": deployment.chain_id})
    return deployment


def _check_registry(w3: Web3, deployment: Deployment) -> None:
    registry = contract_at(w3, "Registry", deployment.registry)
    expected = {
        "COORDINATOR": deployment.coordinator,
        "INBOX": deployment.inbox,
        "READER": deployment.reader,
        "FEE": deployment.fee,
        "WALLET_FACTORY": deployment.wallet_factory,
    }
    for getter, address in expected.items():
        actual = registry.functions[getter]().call()
        if actual != address:
            raise DeploymentError(f"Registry.{getter}() is {actual}, expected {address}: "
                                  "the deployer sent other transactions during deployment")


@dataclass(frozen=True)
class PaymentWallets:
    """Payment Wallets made for the dev chain's node and consumer accounts."""

    node_wallet: str
    consumer_wallet: str


def setup_accounts(
    w3: Web3,
    deployment: Deployment,
    deployer_key: str,
    node_key: str,
    consumer_key: str,
    *,
    account_balance: int = 100 * 10**18,
    wallet_deposit: int = 10 * 10**18,
) -> PaymentWallets:
    """Funds the node and consumer accounts, gives each a Wallet holding `wallet_deposit`
    wei, and lets every example consumer spend ETH from the consumer's Wallet."""
    deployer = Sender(w3, deployer_key)
    node = Account.from_key(node_key).address
    consumer = Account.from_key(consumer_key).address

    pending = []
    for account in (node, consumer):
        shortfall = account_balance - w3.eth.get_balance(account)
        if shortfall > 0:
            pending.append(deployer.send(to=account, value=shortfall, gas=21_000))
    factory = contract_at(w3, "WalletFactory", deployment.wallet_factory)
    created = [deployer.call(factory.functions.createWallet(owner), gas=1_500_000)
               for owner in (node, consumer)]
    receipts = deployer.wait(pending + created, "creating payment wallets")[len(pending):]
    node_wallet, consumer_wallet = (
        factory.events.WalletCreated().process_receipt(r, errors=DISCARD)[0]["args"]["wallet"]
        for r in receipts
    )

    funding = [deployer.send(to=wallet, value=wallet_deposit, gas=60_000)
               for wallet in (node_wallet, consumer_wallet)]
    owner = Sender(w3, consumer_key)
    wallet = contract_at(w3, "Wallet", consumer_wallet)
    spenders = (deployment.callback_consumer, deployment.subscription_consumer,
                deployment.delegator_consumer, deployment.lazy_consumer, deployment.load_consumer)
    approvals = [owner.call(wallet.functions.approve(spender, ZERO_ADDRESS, 2**256 - 1), gas=80_000)
                 for spender in spenders]
    deployer.wait(funding, "funding payment wallets")
    owner.wait(approvals, "approving consumers on the consumer wallet")
    log.info("dev accounts funded",
             extra={"node": node, "consumer": consumer, "node_wallet": node_wallet,
                    "consumer_wallet": consumer_wallet})
    return PaymentWallets(node_wallet=node_wallet, consumer_wallet=consumer_wallet)
