"""Typed bindings for the Infernet contracts over an ``Rpc``, from hand-written
signatures (spec/onchain.md), so they work against any deployment with the SDK v1
ABI, not only our suite.

Every read has a ``*_call`` twin returning a ``PreparedCall`` (target, calldata and
the decoder of its answer) so several reads needed for one decision can travel in
one JSON-RPC batch through ``run_batch``. Undecodable answers (e.g. calling an
address without code) raise ``RpcError(kind="invalid")``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Generic, Literal, TypeVar

import msgspec
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node.chain.rpc_types import Rpc, RpcError
from node.chain.subscription import ZERO_ADDRESS, Subscription

T = TypeVar("T")
BlockRef = int | Literal["latest"]

SUBSCRIPTION_TUPLE = ("(address,uint32,uint32,uint32,uint16,bytes32,bool,address,uint256,"
                      "address,address)")


@dataclass(frozen=True)
class Function:
    """One contract function: canonical signature and output types."""

    signature: str
    outputs: tuple[str, ...] = ()

    @cached_property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]

    @cached_property
    def inputs(self) -> list[str]:
        return _split_types(self.signature[self.signature.index("(") + 1:-1])

    def encode(self, *args: Any) -> bytes:
        return self.selector + abi_encode(self.inputs, list(args))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        try:
            return tuple(abi_decode(list(self.outputs), data))
        except (DecodingError, ValueError, OverflowError) as exc:
            raise RpcError("invalid", f"{self.signature} returned undecodable data "
                           f"{data[:64].hex()!r} (no contract at the address?)",
                           method="eth_call") from exc


def _split_types(types: str) -> list[str]:
    """Top-level comma split that keeps tuple types whole."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(types):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(types[start:i])
            start = i + 1
    if types:
        parts.append(types[start:])
    return parts


@dataclass(frozen=True)
class PreparedCall(Generic[T]):
    """An eth_call not sent yet: ``pair`` goes to ``Rpc.batch_call``, ``decode`` reads
    its answer."""

    to: str
    data: bytes
    decode: Callable[[bytes], T]

    @property
    def pair(self) -> tuple[str, bytes]:
        return self.to, self.data

    def run(self, rpc: Rpc, block: BlockRef = "latest") -> T:
        return self.decode(rpc.call(self.to, self.data, block=block))


def run_batch(rpc: Rpc, calls: Sequence[PreparedCall[Any]],
              block: BlockRef = "latest") -> list[Any]:
    """Every call's decoded answer, or its RpcError, from one JSON-RPC batch."""
    answers = rpc.batch_call([c.pair for c in calls], block=block)
    results: list[Any] = []
    for call, answer in zip(calls, answers, strict=True):
        if isinstance(answer, RpcError):
            results.append(answer)
            continue
        try:
            results.append(call.decode(answer))
        except RpcError as exc:
            results.append(exc)
    return results


def _prepared(to: str, fn: Function, args: Sequence[Any],
              convert: Callable[[tuple[Any, ...]], T]) -> PreparedCall[T]:
    return PreparedCall(to, fn.encode(*args), lambda data: convert(fn.decode(data)))


def _first(values: tuple[Any, ...]) -> Any:
    return values[0]


def _address(values: tuple[Any, ...]) -> str:
    return to_checksum_address(values[0])


def _int(values: tuple[Any, ...]) -> int:
    return int(values[0])


def _bool(values: tuple[Any, ...]) -> bool:
    return bool(values[0])


# -- keys of the Coordinator's mappings ------------------------------------------------

def node_key(sub_id: int, interval: int, node: str) -> bytes:
    """Key of ``nodeResponded`` and ``proofRequests``."""
    return keccak(abi_encode(["uint32", "uint32", "address"], [sub_id, interval, node]))


def interval_key(sub_id: int, interval: int) -> bytes:
    """Key of ``redundancyCount``."""
    return keccak(abi_encode(["uint32", "uint32"], [sub_id, interval]))


def delegate_key(owner: str, nonce: int) -> bytes:
    """Key of ``delegateCreatedIds``."""
    return keccak(abi_encode(["address", "uint32"], [owner, nonce]))


# -- Subscription codec ----------------------------------------------------------------

# The same few addresses (owners, wallets, zero) recur across thousands of
# subscriptions; checksumming costs a keccak each time.
checksum = lru_cache(maxsize=8192)(to_checksum_address)


def subscription_from_tuple(sub_id: int, values: Sequence[Any]) -> Subscription:
    owner, active_at, period, frequency, redundancy, container_id, lazy, verifier, \
        amount, token, wallet = values
    return Subscription(
        id=sub_id, owner=checksum(owner), active_at=int(active_at),
        period=int(period), frequency=int(frequency), redundancy=int(redundancy),
        container_id=bytes(container_id), lazy=bool(lazy),
        verifier=checksum(verifier), payment_amount=int(amount),
        payment_token=checksum(token), wallet=checksum(wallet))


SUBSCRIPTION_WORDS = 11  # every member is static: one 32-byte word each


def _word_address(word: bytes) -> str:
    return checksum("0x" + word[12:].hex())


def subscription_from_words(sub_id: int, data: bytes, offset: int = 0) -> Subscription:
    """Decodes the static Subscription tuple at ``offset`` directly (several times
    faster than the generic decoder; snapshot sync reads thousands)."""
    end = offset + 32 * SUBSCRIPTION_WORDS
    if len(data) < end:
        raise RpcError("invalid", f"Subscription data is {len(data)} bytes, needs {end}",
                       method="eth_call")
    w = [data[i:i + 32] for i in range(offset, end, 32)]
    number = int.from_bytes
    return Subscription(
        id=sub_id, owner=_word_address(w[0]), active_at=number(w[1], "big"),
        period=number(w[2], "big"), frequency=number(w[3], "big"),
        redundancy=number(w[4], "big"), container_id=w[5], lazy=number(w[6], "big") != 0,
        verifier=_word_address(w[7]), payment_amount=number(w[8], "big"),
        payment_token=_word_address(w[9]), wallet=_word_address(w[10]))


def subscriptions_from_array(first_id: int, data: bytes) -> list[Subscription]:
    """An ABI-encoded ``Subscription[]`` return value; element i gets id first_id + i."""
    if len(data) < 64:
        raise RpcError("invalid", f"Subscription[] data is {len(data)} bytes",
                       method="eth_call")
    head = int.from_bytes(data[:32], "big")
    if head + 32 > len(data):
        raise RpcError("invalid", "Subscription[] offset points past the data",
                       method="eth_call")
    count = int.from_bytes(data[head:head + 32], "big")
    if head + 32 + count * 32 * SUBSCRIPTION_WORDS > len(data):
        raise RpcError("invalid", f"Subscription[] of {count} does not fit the data",
                       method="eth_call")
    base = head + 32
    return [subscription_from_words(first_id + i, data, base + i * 32 * SUBSCRIPTION_WORDS)
            for i in range(count)]


def subscription_tuple(sub: Subscription) -> tuple[Any, ...]:
    """The ABI tuple (field order of spec/onchain.md §3.1), without the id."""
    return (sub.owner, sub.active_at, sub.period, sub.frequency, sub.redundancy,
            sub.container_id, sub.lazy, sub.verifier, sub.payment_amount, sub.payment_token,
            sub.wallet)


# -- Registry --------------------------------------------------------------------------

REGISTRY_GETTERS = {
    "coordinator": Function("COORDINATOR()", ("address",)),
    "inbox": Function("INBOX()", ("address",)),
    "reader": Function("READER()", ("address",)),
    "fee": Function("FEE()", ("address",)),
    "wallet_factory": Function("WALLET_FACTORY()", ("address",)),
}


class RegistryAddresses(msgspec.Struct, frozen=True, kw_only=True):
    coordinator: str
    inbox: str
    reader: str
    fee: str
    wallet_factory: str


class Registry:
    def __init__(self, rpc: Rpc, address: str) -> None:
        self.rpc = rpc
        self.address = to_checksum_address(address)

    def addresses(self, block: BlockRef = "latest") -> RegistryAddresses:
        """All five addresses in one batched request."""
        calls = [_prepared(self.address, fn, (), _address) for fn in REGISTRY_GETTERS.values()]
        answers = run_batch(self.rpc, calls, block)
        for answer in answers:
            if isinstance(answer, RpcError):
                raise answer
        return RegistryAddresses(**dict(zip(REGISTRY_GETTERS, answers, strict=True)))


# -- Coordinator -----------------------------------------------------------------------

COORDINATOR_ID = Function("id()", ("uint32",))
GET_SUBSCRIPTION = Function("getSubscription(uint32)", (SUBSCRIPTION_TUPLE,))
NODE_RESPONDED = Function("nodeResponded(bytes32)", ("bool",))
REDUNDANCY_COUNT = Function("redundancyCount(bytes32)", ("uint16",))
DELEGATE_CREATED_IDS = Function("delegateCreatedIds(bytes32)", ("uint32",))
MAX_SUBSCRIBER_NONCE = Function("maxSubscriberNonce(address)", ("uint32",))
NODE_MANAGER = Function("NODE_MANAGER()", ("address",))
EIP712_DOMAIN = Function("eip712Domain()", ("bytes1", "string", "string", "uint256", "address",
                                            "bytes32", "uint256[]"))
DELIVER_COMPUTE = Function("deliverCompute(uint32,uint32,bytes,bytes,bytes,address)")
DELIVER_COMPUTE_DELEGATEE = Function(
    f"deliverComputeDelegatee(uint32,uint32,{SUBSCRIPTION_TUPLE},uint8,bytes32,bytes32,uint32,"
    "bytes,bytes,bytes,address)")
CREATE_SUBSCRIPTION_DELEGATEE = Function(
    f"createSubscriptionDelegatee(uint32,uint32,{SUBSCRIPTION_TUPLE},uint8,bytes32,bytes32)",
    ("uint32",))


class DeliveryState(msgspec.Struct, frozen=True, kw_only=True):
    """What the Coordinator says about one (subscription, interval, node) at a block."""

    subscription: Subscription
    redundancy_count: int
    node_responded: bool


class Coordinator:
    def __init__(self, rpc: Rpc, address: str) -> None:
        self.rpc = rpc
        self.address = to_checksum_address(address)

    def next_id_call(self) -> PreparedCall[int]:
        return _prepared(self.address, COORDINATOR_ID, (), _int)

    def next_id(self, block: BlockRef = "latest") -> int:
        """``id()``: the id the next subscription gets (highest existing + 1)."""
        return self.next_id_call().run(self.rpc, block)

    def get_subscription_call(self, sub_id: int) -> PreparedCall[Subscription]:
        return PreparedCall(self.address, GET_SUBSCRIPTION.encode(sub_id),
                            lambda data: subscription_from_words(sub_id, data))

    def get_subscription(self, sub_id: int, block: BlockRef = "latest") -> Subscription:
        return self.get_subscription_call(sub_id).run(self.rpc, block)

    def node_responded_call(self, sub_id: int, interval: int, node: str) -> PreparedCall[bool]:
        return _prepared(self.address, NODE_RESPONDED, (node_key(sub_id, interval, node),),
                         _bool)

    def node_responded(self, sub_id: int, interval: int, node: str,
                       block: BlockRef = "latest") -> bool:
        return self.node_responded_call(sub_id, interval, node).run(self.rpc, block)

    def redundancy_count_call(self, sub_id: int, interval: int) -> PreparedCall[int]:
        return _prepared(self.address, REDUNDANCY_COUNT, (interval_key(sub_id, interval),), _int)

    def redundancy_count(self, sub_id: int, interval: int, block: BlockRef = "latest") -> int:
        return self.redundancy_count_call(sub_id, interval).run(self.rpc, block)

    def delegate_created_id_call(self, owner: str, nonce: int) -> PreparedCall[int]:
        return _prepared(self.address, DELEGATE_CREATED_IDS, (delegate_key(owner, nonce),), _int)

    def delegate_created_id(self, owner: str, nonce: int, block: BlockRef = "latest") -> int:
        """The id created for a delegated (owner, nonce); 0 when not created yet."""
        return self.delegate_created_id_call(owner, nonce).run(self.rpc, block)

    def max_subscriber_nonce(self, owner: str, block: BlockRef = "latest") -> int:
        return _prepared(self.address, MAX_SUBSCRIBER_NONCE, (owner,), _int).run(self.rpc, block)

    def delivery_state_calls(self, sub_id: int, interval: int,
                             node: str) -> list[PreparedCall[Any]]:
        return [self.get_subscription_call(sub_id), self.redundancy_count_call(sub_id, interval),
                self.node_responded_call(sub_id, interval, node)]

    def delivery_state(self, sub_id: int, interval: int, node: str,
                       block: BlockRef = "latest") -> DeliveryState:
        """Subscription, redundancy count and this node's response flag in one request."""
        answers = run_batch(self.rpc, self.delivery_state_calls(sub_id, interval, node), block)
        for answer in answers:
            if isinstance(answer, RpcError):
                raise answer
        sub, count, responded = answers
        return DeliveryState(subscription=sub, redundancy_count=count, node_responded=responded)

    def node_manager(self, block: BlockRef = "latest") -> str:
        """Our suite's ``NODE_MANAGER()``; the zero address when registration is off or
        the Coordinator has no such getter (the SDK's does not)."""
        try:
            return _prepared(self.address, NODE_MANAGER, (), _address).run(self.rpc, block)
        except RpcError as exc:
            if exc.kind in ("revert", "invalid"):
                return ZERO_ADDRESS
            raise

    def eip712_domain(self, block: BlockRef = "latest") -> tuple[str, str, int, str]:
        """ERC-5267 (name, version, chain id, verifying contract)."""
        values = EIP712_DOMAIN.decode(self.rpc.call(self.address, EIP712_DOMAIN.encode(),
                                                    block=block))
        return str(values[1]), str(values[2]), int(values[3]), to_checksum_address(values[4])

    @staticmethod
    def encode_deliver_compute(sub_id: int, interval: int, input: bytes, output: bytes,
                               proof: bytes, node_wallet: str) -> bytes:
        return DELIVER_COMPUTE.encode(sub_id, interval, input, output, proof, node_wallet)

    @staticmethod
    def encode_deliver_compute_delegatee(nonce: int, expiry: int, sub: Subscription, v: int,
                                         r: int, s: int, interval: int, input: bytes,
                                         output: bytes, proof: bytes, node_wallet: str) -> bytes:
        return DELIVER_COMPUTE_DELEGATEE.encode(
            nonce, expiry, subscription_tuple(sub), v, r.to_bytes(32, "big"),
            s.to_bytes(32, "big"), interval, input, output, proof, node_wallet)

    @staticmethod
    def encode_create_subscription_delegatee(nonce: int, expiry: int, sub: Subscription, v: int,
                                             r: int, s: int) -> bytes:
        return CREATE_SUBSCRIPTION_DELEGATEE.encode(
            nonce, expiry, subscription_tuple(sub), v, r.to_bytes(32, "big"),
            s.to_bytes(32, "big"))


# -- Reader ----------------------------------------------------------------------------

READ_SUBSCRIPTION_BATCH = Function("readSubscriptionBatch(uint32,uint32)",
                                   (f"{SUBSCRIPTION_TUPLE}[]",))
READ_REDUNDANCY_COUNT_BATCH = Function("readRedundancyCountBatch(uint32[],uint32[])",
                                       ("uint16[]",))


class Reader:
    def __init__(self, rpc: Rpc, address: str) -> None:
        self.rpc = rpc
        self.address = to_checksum_address(address)

    def read_subscription_batch_call(self, start: int,
                                     end: int) -> PreparedCall[list[Subscription]]:
        if end < start:
            raise ValueError(f"end ({end}) is before start ({start})")
        return PreparedCall(self.address, READ_SUBSCRIPTION_BATCH.encode(start, end),
                            lambda data: subscriptions_from_array(start, data))

    def read_subscription_batch(self, start: int, end: int,
                                block: BlockRef = "latest") -> list[Subscription]:
        """Subscriptions ``start <= id < end`` (missing ids come back with a zero owner)."""
        return self.read_subscription_batch_call(start, end).run(self.rpc, block)

    def read_redundancy_count_batch_call(self, ids: Sequence[int],
                                         intervals: Sequence[int]) -> PreparedCall[list[int]]:
        if len(ids) != len(intervals):
            raise ValueError("ids and intervals must have the same length")
        return _prepared(self.address, READ_REDUNDANCY_COUNT_BATCH, (list(ids), list(intervals)),
                         lambda values: [int(v) for v in values[0]])

    def read_redundancy_count_batch(self, ids: Sequence[int], intervals: Sequence[int],
                                    block: BlockRef = "latest") -> list[int]:
        return self.read_redundancy_count_batch_call(ids, intervals).run(self.rpc, block)


# -- consumers, wallets, tokens --------------------------------------------------------

GET_CONTAINER_INPUTS = Function("getContainerInputs(uint32,uint32,uint32,address)", ("bytes",))
GET_SIGNER = Function("getSigner()", ("address",))
IS_VALID_WALLET = Function("isValidWallet(address)", ("bool",))
BALANCE_OF = Function("balanceOf(address)", ("uint256",))
WALLET_OWNER = Function("owner()", ("address",))
WALLET_ALLOWANCE = Function("allowance(address,address)", ("uint256",))
WALLET_APPROVE = Function("approve(address,address,uint256)")


def consumer_inputs_call(owner: str, sub_id: int, interval: int, timestamp: int,
                         caller: str) -> PreparedCall[bytes]:
    return _prepared(owner, GET_CONTAINER_INPUTS, (sub_id, interval, timestamp, caller),
                     lambda values: bytes(values[0]))


def consumer_inputs(rpc: Rpc, owner: str, sub_id: int, interval: int, timestamp: int,
                    caller: str, block: BlockRef = "latest") -> bytes:
    """The consumer's ``getContainerInputs``; b"" when it reverts (as the original)."""
    try:
        return consumer_inputs_call(owner, sub_id, interval, timestamp, caller).run(rpc, block)
    except RpcError as exc:
        if exc.kind == "revert":
            return b""
        raise


def delegator_signer(rpc: Rpc, owner: str, block: BlockRef = "latest") -> str:
    """``getSigner()`` of a Delegator consumer; the zero address when the call reverts or
    answers nonsense (not a Delegator). Network errors still raise."""
    try:
        return _prepared(owner, GET_SIGNER, (), _address).run(rpc, block)
    except RpcError as exc:
        if exc.kind in ("revert", "invalid"):
            return ZERO_ADDRESS
        raise


def is_valid_wallet_call(factory: str, wallet: str) -> PreparedCall[bool]:
    return _prepared(factory, IS_VALID_WALLET, (wallet,), _bool)


def is_valid_wallet(rpc: Rpc, factory: str, wallet: str, block: BlockRef = "latest") -> bool:
    return is_valid_wallet_call(factory, wallet).run(rpc, block)


def token_balance_call(token: str, holder: str) -> PreparedCall[int]:
    """ERC-20 balances only (ETH has no eth_call form)."""
    return _prepared(token, BALANCE_OF, (holder,), _int)


def token_balance(rpc: Rpc, token: str, holder: str, block: BlockRef = "latest") -> int:
    """ERC-20 ``balanceOf``, or the ETH balance when ``token`` is the zero address."""
    if int(token, 16) == 0:
        return rpc.balance(holder, block)
    return token_balance_call(token, holder).run(rpc, block)


def wallet_owner(rpc: Rpc, wallet: str, block: BlockRef = "latest") -> str:
    return _prepared(wallet, WALLET_OWNER, (), _address).run(rpc, block)


def wallet_allowance_call(wallet: str, spender: str, token: str) -> PreparedCall[int]:
    return _prepared(wallet, WALLET_ALLOWANCE, (spender, token), _int)


def wallet_allowance(rpc: Rpc, wallet: str, spender: str, token: str,
                     block: BlockRef = "latest") -> int:
    return wallet_allowance_call(wallet, spender, token).run(rpc, block)


def encode_wallet_approve(spender: str, token: str, amount: int) -> bytes:
    """``Wallet.approve``: *sets* the allowance of ``spender`` for ``token``."""
    return WALLET_APPROVE.encode(spender, token, amount)


# -- NodeManager (SDK v0 Manager interface) --------------------------------------------

NODE_INFO = Function("nodeInfo(address)", ("uint8", "uint32"))
COOLDOWN = Function("cooldown()", ("uint256",))
IS_ACTIVE_NODE = Function("isActiveNode(address)", ("bool",))
REGISTER_NODE = Function("registerNode(address)")
ACTIVATE_NODE = Function("activateNode()")
DEACTIVATE_NODE = Function("deactivateNode()")
NODE_STATUS_NAMES = ("Inactive", "Registered", "Active")


def node_info_calls(manager: str, node: str) -> list[PreparedCall[Any]]:
    """nodeInfo and cooldown, for ``run_batch``."""
    return [_prepared(manager, NODE_INFO, (node,), lambda v: (int(v[0]), int(v[1]))),
            _prepared(manager, COOLDOWN, (), _int)]


def node_info(rpc: Rpc, manager: str, node: str, block: BlockRef = "latest") -> tuple[int, int]:
    """(status: 0 Inactive / 1 Registered / 2 Active, cooldown_start UNIX seconds)."""
    info: tuple[int, int] = node_info_calls(manager, node)[0].run(rpc, block)
    return info


def cooldown(rpc: Rpc, manager: str, block: BlockRef = "latest") -> int:
    """Seconds between registration and activation."""
    return _prepared(manager, COOLDOWN, (), _int).run(rpc, block)


def encode_register_node(node: str) -> bytes:
    return REGISTER_NODE.encode(node)


def encode_activate_node() -> bytes:
    return ACTIVATE_NODE.encode()


def encode_deactivate_node() -> bytes:
    return DEACTIVATE_NODE.encode()


# -- Coordinator events ----------------------------------------------------------------

def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


SUBSCRIPTION_CREATED_TOPIC = _topic("SubscriptionCreated(uint32)")
SUBSCRIPTION_CANCELLED_TOPIC = _topic("SubscriptionCancelled(uint32)")
SUBSCRIPTION_FULFILLED_TOPIC = _topic("SubscriptionFulfilled(uint32,address)")
PROOF_VERIFIED_TOPIC = _topic("ProofVerified(uint32,uint32,address,bool,address,bool)")
# The topic-0 filter the poller passes to eth_getLogs (any of the three).
SUBSCRIPTION_EVENT_TOPICS = [SUBSCRIPTION_CREATED_TOPIC, SUBSCRIPTION_CANCELLED_TOPIC,
                             SUBSCRIPTION_FULFILLED_TOPIC]


class LogEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Where a log sits; ``removed`` is true when a reorg dropped it."""

    sub_id: int
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    removed: bool = False


class SubscriptionCreated(LogEvent, frozen=True, kw_only=True):
    pass


class SubscriptionCancelled(LogEvent, frozen=True, kw_only=True):
    pass


class SubscriptionFulfilled(LogEvent, frozen=True, kw_only=True):
    node: str  # the delivering account, not its payment wallet


class ProofVerified(LogEvent, frozen=True, kw_only=True):
    interval: int
    node: str
    active: bool
    verifier: str
    valid: bool


CoordinatorEvent = SubscriptionCreated | SubscriptionCancelled | SubscriptionFulfilled \
    | ProofVerified


def _topic_int(topic: str) -> int:
    return int(topic, 16)


def _topic_address(topic: str) -> str:
    return to_checksum_address("0x" + topic[-40:])


def decode_coordinator_log(log: dict[str, Any]) -> CoordinatorEvent:
    """A raw eth_getLogs entry of the Coordinator as a typed event; ValueError for other
    or malformed logs."""
    try:
        topics = [str(t).lower() for t in log["topics"]]
        where: dict[str, Any] = {
            "sub_id": _topic_int(topics[1]),
            "block_number": _topic_int(log["blockNumber"]),
            "block_hash": str(log["blockHash"]),
            "tx_hash": str(log["transactionHash"]),
            "log_index": _topic_int(log["logIndex"]),
            "removed": bool(log.get("removed", False)),
        }
        kind = topics[0]
        if kind == SUBSCRIPTION_CREATED_TOPIC:
            return SubscriptionCreated(**where)
        if kind == SUBSCRIPTION_CANCELLED_TOPIC:
            return SubscriptionCancelled(**where)
        if kind == SUBSCRIPTION_FULFILLED_TOPIC:
            return SubscriptionFulfilled(node=_topic_address(topics[2]), **where)
        if kind == PROOF_VERIFIED_TOPIC:
            data = bytes.fromhex(str(log["data"])[2:])
            active, verifier, valid = abi_decode(["bool", "address", "bool"], data)
            return ProofVerified(interval=_topic_int(topics[2]),
                                 node=_topic_address(topics[3]), active=bool(active),
                                 verifier=to_checksum_address(verifier), valid=bool(valid),
                                 **where)
    except (KeyError, IndexError, TypeError, ValueError, DecodingError) as exc:
        raise ValueError(f"malformed Coordinator log: {exc!r}") from exc
    raise ValueError(f"not a Coordinator subscription event (topic0 {topics[0]})")
