"""The node's wallet: one actor owns the key, the nonce counter and every transaction.

A ``SendTransaction`` is simulated on a worker thread (``eth_estimateGas`` doubles as
the simulation: it reverts exactly like ``eth_call``), then, in the actor, given the
next nonce, signed, saved and sent.

Following the chain: the subscription poller tells each head (``HeadSeen``) with its
base fee and the transactions behind the Coordinator logs it read. A delivery found
there succeeded: it is settled with no RPC call (its gas used stays unknown). A
ticker thread looks up the rest once the logs could have shown them: the nonce as
of the last block the logs cover, then receipts only for nonces used by then — and
tells the actor what it saw; no lock is held while waiting. Without a poller, or
when it falls silent, the ticker polls the head itself and looks everything up that
way. The ticker lives in ``actors.wallet_watch``.

Transactions not mined after ``replace_after_blocks`` blocks are re-signed at the
same nonce with fees bumped by 12.5 %. Every signed attempt is persisted before it
is sent, so a restart sends the same bytes again (same hash) and never signs a
second transaction for a key. The outcome is told to ``reply_to`` once per key.

Decided transactions stay answerable by key for ``retention`` seconds after the
decision, and until their outcome was told; then the ticker has them pruned
(``PRUNE_BATCH`` at most every ``PRUNE_EVERY`` seconds), except the keys
``keys_in_use`` says the requester may still send again (the scheduler's open
claims).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import msgspec
import pykka
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address

from actors.base import ChildContext, SupervisedActor
from actors.directory import ActorUnavailable
from actors.wallet_watch import (
    MAX_BACKOFF,
    ChainWatch,
    Observed,
    Prune,
    Watch,
    WatchMode,
    watch_mode,
)
from node.chain.fee_policy import FeePolicy
from node.chain.poller_messages import HeadSeen
from node.chain.reverts import decode_revert
from node.chain.rpc_types import Receipt, Rpc, RpcError
from node.chain.tx import (
    FINAL_STATES,
    ON_CHAIN_STATES,
    Attempt,
    Fees,
    TxRecord,
    TxRequest,
    TxState,
    gas_with_margin,
    outcome_status,
    sign_attempt,
)
from node.chain.wallet_messages import (
    SendTransaction,
    TransactionOutcome,
    WalletState,
    WalletStatus,
)
from node.store.chain_db import ChainDb
from node.store.tx_store import TxStore

log = logging.getLogger(__name__)

# A sent transaction the poller's logs have not settled after this long is looked up
# like one sent with no poller (logs held back by trailing blocks on a quiet chain).
# Kept here and passed to the ticker's rule: it is one of the wallet's tunables.
LOGS_PATIENCE = 15.0
# A nonce the chain has used without any of our attempts mined must be seen so on
# this many new heads before we re-sign (load-balanced RPCs can lag on receipts).
LOST_AFTER_HEADS = 2
MAX_RESIGNS = 10
REDELIVER_EVERY = 5.0
MAX_HOLE_SCAN = 1000
SIMULATION_WORKERS = 4
PRUNE_EVERY = 600.0  # seconds between prune runs
PRUNE_BATCH = 5000  # decided transactions deleted per run at most
PRUNE_CHUNK = 1000  # per database transaction: the chain actors share the file (~25 ms)
RETRY_LATER_ON_SEND = frozenset({"rate_limited", "unavailable", "timeout", "insufficient_funds",
                                 "fee_too_low", "nonce_too_high"})


@dataclass(frozen=True)
class _Simulated:
    """A worker finished simulating ``key``: ``gas`` to send with, or why not."""

    key: str
    gas: int | None
    state: TxState = "queued"
    error: str | None = None
    revert_name: str | None = None
    revert_class: str | None = None


@dataclass
class _Live:
    """A transaction holding a nonce, with its attempts at that nonce."""

    key: str
    request: TxRequest
    nonce: int
    gas: int
    attempts: list[Attempt]
    sent_head: int | None = None
    unsent: bool = True  # the newest attempt has not been accepted by the RPC yet
    refee: bool = False  # re-sign with fresh fees before retrying
    retry_at: float = 0.0
    failures: int = 0
    lost: int = 0
    resigns: int = 0
    replayed: bool = False
    # The wallet's head when the first / newest attempt at this nonce was accepted.
    first_sent_at: int | None = None
    sent_at: int | None = None
    sent_time: float | None = None  # monotonic, the newest accepted attempt

    @property
    def ever_sent(self) -> bool:
        """Whether an attempt may have reached the network (a replayed one may have)."""
        return self.replayed or any(a.sent for a in self.attempts)


class WalletActor(SupervisedActor):
    def __init__(
        self,
        ctx: ChildContext,
        *,
        rpc: Rpc,
        private_key: str,
        db: ChainDb,
        max_gas_limit: int,
        allowed_sim_errors: tuple[str, ...],
        gas_margin: float = 1.25,
        replace_after_blocks: int = 3,
        poll_interval: float = 0.5,
        max_in_flight: int = 256,
        before_send: Callable[[Attempt], None] | None = None,
        retention: float | None = None,
        keys_in_use: Callable[[Sequence[str]], Collection[str]] | None = None,
    ) -> None:
        super().__init__(ctx)
        if max_gas_limit <= 0 or gas_margin < 1.0 or replace_after_blocks < 1 \
                or poll_interval <= 0 or max_in_flight < 1:
            raise ValueError("wallet: max_gas_limit, gas_margin (>= 1), replace_after_blocks,"
                             " poll_interval and max_in_flight must be positive")
        self._rpc = rpc
        try:
            self._account: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError):
            raise ValueError("wallet.private_key: not a valid private key") from None
        self.address: str = self._account.address
        self._db = db
        self._max_gas = max_gas_limit
        self._allowed = tuple(e.lower() for e in allowed_sim_errors if e.strip())
        self._margin = gas_margin
        self._replace_after = replace_after_blocks
        self._poll_interval = poll_interval
        self._max_in_flight = max_in_flight
        # Test hook: runs after an attempt is persisted and before it is sent.
        self._before_send = before_send
        # Decided transactions older than this are pruned (None: kept for ever).
        self._retention = retention
        self._keys_in_use = keys_in_use
        self._halt = threading.Event()  # stops simulation retries
        self._pool = ThreadPoolExecutor(SIMULATION_WORKERS, thread_name_prefix="wallet-sim")
        self._store: TxStore | None = None
        self._chain_id = 0
        self._head = 0
        self._confirmed: int | None = None
        self._next_nonce = 0
        self._free: list[int] = []  # nonces handed out whose send failed for good
        self._queued: set[str] = set()  # simulating or waiting for a nonce
        self._ready: deque[tuple[str, int]] = deque()
        self._live: dict[str, _Live] = {}
        self._fee_policy = FeePolicy(rpc)
        self._undelivered: set[str] = set()  # decided keys whose requester was down
        self._redeliver_at = 0.0
        self._lowest_live: int | None = None
        # From the poller's HeadSeen: whose logs it reports and the blocks they cover.
        self._log_source: str | None = None
        self._coverage: tuple[int, int] | None = None
        self._chain_watch = ChainWatch(rpc, self.address, poll_interval=poll_interval,
                                       prune_every=None if retention is None else PRUNE_EVERY)

    # --- lifecycle --------------------------------------------------------------

    @property
    def store(self) -> TxStore:
        assert self._store is not None, "the wallet has not started"
        return self._store

    def started(self) -> None:
        self._store = TxStore(self._db, self.address)
        self._chain_id = self._rpc.chain_id()
        self._head = self._rpc.block_number()
        pending = self._rpc.nonce(self.address, "pending")
        highest = self.store.highest_nonce()
        self._next_nonce = max(pending, -1 if highest is None else highest + 1)
        for record in self.store.unnotified():
            self._notify(record)
        for record in self.store.in_flight():
            self._recover(record)
        held = {item.nonce for item in self._live.values()}
        self._free = [n for n in range(pending, min(self._next_nonce, pending + MAX_HOLE_SCAN))
                      if n not in held]
        log.info("wallet started", extra={
            "address": self.address, "next_nonce": self._next_nonce,
            "in_flight": len(self._live) + len(self._queued), "holes": len(self._free)})
        self._publish()
        try:
            self._fee_policy.tip(fresh=True)  # warm: the first delivery then needs no fee read
        except RpcError:
            pass
        self._chain_watch.start(self.actor_ref)

    def stopping(self) -> None:
        self._shut_down()

    def failed(self) -> None:
        self._shut_down()

    def _shut_down(self) -> None:
        self._halt.set()
        self._chain_watch.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _recover(self, record: TxRecord) -> None:
        if record.state == "queued" or record.nonce is None or record.gas is None:
            self._simulate_later(record.key, record.request, None)
            return
        attempts = [a for a in self.store.attempts(record.key) if a.nonce == record.nonce]
        item = _Live(key=record.key, request=record.request, nonce=record.nonce,
                     gas=record.gas, attempts=attempts, sent_head=self._head, replayed=True)
        self._live[record.key] = item
        if attempts and not attempts[-1].sent:
            log.info("resending a saved attempt",
                     extra={"key": record.key, "nonce": record.nonce,
                            "tx_hash": attempts[-1].tx_hash})
            self._send(item)
        else:
            item.unsent = False

    # --- messages ---------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        if isinstance(message, SendTransaction):
            self._submit(message)
        elif isinstance(message, _Simulated):
            self._simulated(message)
        elif isinstance(message, Observed):
            self._observed(message)
        elif isinstance(message, HeadSeen):
            self._head_seen(message)
        elif isinstance(message, Prune):
            self._prune()
        elif isinstance(message, WalletStatus):
            return self._status()
        else:
            log.warning("wallet ignored a message", extra={"type": type(message).__name__})
        return None

    def _submit(self, message: SendTransaction) -> None:
        problem = _invalid(message)
        if problem is not None:
            log.warning("transaction refused", extra={"key": message.key, "error": problem})
            self._tell(message.reply_to, TransactionOutcome(
                key=message.key, status="failed", tx_hash=None, block_number=None,
                gas_used=None, error=problem, revert_name=None, revert_class=None))
            return
        request = TxRequest(to=message.to, data=message.data, value=message.value,
                            simulate=message.simulate, gas_limit=message.gas_limit)
        record = self.store.open(message.key, request, message.reply_to)
        if record.state in ON_CHAIN_STATES:
            if record.reply_to != message.reply_to:
                self.store.set_reply_to(message.key, message.reply_to)
                record = msgspec.structs.replace(record, reply_to=message.reply_to)
            self._notify(record)
            return
        if message.key in self._queued or message.key in self._live:
            if record.reply_to != message.reply_to:
                self.store.set_reply_to(message.key, message.reply_to)
            log.info("transaction already in flight", extra={"key": message.key})
            return
        self._simulate_later(message.key, record.request, message.block)

    def _status(self) -> WalletState:
        try:
            balance: int | None = self._rpc.balance(self.address)
        except RpcError:
            balance = None
        return WalletState(address=self.address, next_nonce=self._next_nonce,
                           in_flight=len(self._live) + len(self._queued), balance=balance,
                           fed=self._chain_watch.fed_head() is not None)

    # --- simulation (worker threads) ----------------------------------------------

    def _simulate_later(self, key: str, request: TxRequest, block: int | None) -> None:
        self._queued.add(key)
        me = self.actor_ref

        def run() -> None:
            try:
                result = self._simulate(key, request, block)
            except Exception as exc:  # never lose a key to a bug in one simulation
                log.exception("simulation crashed", extra={"key": key})
                result = _Simulated(key, None, "failed", error=f"simulation crashed: {exc!r}")
            if result is None:
                return  # stopping: the row stays queued and is simulated after restart
            try:
                me.tell(result)
            except pykka.ActorDeadError:
                pass

        self._pool.submit(run)

    def _simulate(self, key: str, request: TxRequest, block: int | None) -> _Simulated | None:
        tx = {"from": self.address, "to": request.to, "data": request.data,
              "value": request.value}
        delay = self._poll_interval
        while not self._halt.is_set():
            try:
                if request.simulate and block is not None:
                    self._rpc.call(request.to, request.data, block=block, sender=self.address)
                if request.gas_limit is not None and not request.simulate:
                    return _Simulated(key, self._unsimulated_gas(request))
                gas = gas_with_margin(self._rpc.estimate_gas(tx), self._margin, self._max_gas)
                if request.gas_limit is not None:
                    gas = self._unsimulated_gas(request)  # the estimate only simulated
                return _Simulated(key, gas)
            except RpcError as exc:
                if exc.kind == "revert":
                    return self._judge_revert(key, request, exc)
                if not exc.retryable:
                    if not request.simulate:
                        return _Simulated(key, self._unsimulated_gas(request))
                    # Our own balance is short: worth another try once it is topped up.
                    hint = "retry_later" if exc.kind == "insufficient_funds" else None
                    return _Simulated(key, None, "failed", error=f"simulation: {exc}",
                                      revert_class=hint)
                log.warning("simulation will be retried",
                            extra={"key": key, "error": str(exc), "delay": delay})
                if self._halt.wait(delay):
                    break
                delay = min(delay * 2, MAX_BACKOFF)
        return None

    def _judge_revert(self, key: str, request: TxRequest, exc: RpcError) -> _Simulated:
        decoded = decode_revert(exc.data or b"")
        text = f"{exc.message} {decoded.name} {decoded.reason}".lower()
        if any(allowed in text for allowed in self._allowed):
            log.info("simulation error allowed; sending with the gas cap",
                     extra={"key": key, "revert": decoded.reason, "gas": self._max_gas})
            return _Simulated(key, self._max_gas)
        if not request.simulate:
            return _Simulated(key, self._unsimulated_gas(request))
        log.info("simulation failed", extra={"key": key, "revert": decoded.reason,
                                             "revert_class": decoded.action})
        return _Simulated(key, None, "simulation_failed", error=decoded.reason,
                          revert_name=decoded.name or None, revert_class=decoded.action)

    def _unsimulated_gas(self, request: TxRequest) -> int:
        """Gas for a request sent without a usable estimate."""
        return min(request.gas_limit or self._max_gas, self._max_gas)

    def _simulated(self, result: _Simulated) -> None:
        if result.key not in self._queued:
            return
        if result.gas is None:
            self._queued.discard(result.key)
            self._finish(result.key, result.state, error=result.error,
                         revert_name=result.revert_name, revert_class=result.revert_class)
            return
        self._ready.append((result.key, result.gas))
        self._sign_ready()
        self._publish()

    # --- signing and sending ------------------------------------------------------

    def _sign_ready(self) -> None:
        while self._ready and len(self._live) < self._max_in_flight:
            try:
                fees = self._fees()
            except RpcError as exc:
                log.warning("fees unavailable; signing later", extra={"error": str(exc)})
                return
            key, gas = self._ready.popleft()
            self._queued.discard(key)
            record = self.store.get(key)
            if record is None:
                continue
            item = _Live(key=key, request=record.request, nonce=self._take_nonce(), gas=gas,
                         attempts=[])
            self._live[key] = item
            self._sign_and_send(item, fees)

    def _take_nonce(self) -> int:
        if self._free:
            return heapq.heappop(self._free)
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    def _sign_and_send(self, item: _Live, fees: Fees) -> None:
        attempt = sign_attempt(self._account, chain_id=self._chain_id, key=item.key,
                               nonce=item.nonce, request=item.request, gas=item.gas, fees=fees,
                               now=time.time())
        self.store.save_attempt(attempt)
        item.attempts.append(attempt)
        item.unsent = True
        item.refee = False
        self._send(item)

    def _send(self, item: _Live) -> None:
        attempt = item.attempts[-1]
        if self._before_send is not None:
            self._before_send(attempt)
        try:
            self._rpc.send_raw(attempt.raw)
        except RpcError as exc:
            if exc.kind != "already_known":
                self._send_failed(item, exc)
                return
        self.store.mark_sent(item.key, attempt.tx_hash)
        item.attempts[-1] = msgspec.structs.replace(attempt, sent=True)
        item.unsent = False
        item.failures = 0
        item.sent_at = self._head
        item.sent_time = time.monotonic()
        if item.first_sent_at is None:
            item.first_sent_at = self._head
        # Counted from the first head seen after the send: ``self._head`` may be a poll old,
        # and a transaction waiting for its first block is not stuck.
        item.sent_head = None
        log.info("transaction sent", extra={
            "key": item.key, "nonce": item.nonce, "tx_hash": attempt.tx_hash, "gas": item.gas,
            "attempt": len(item.attempts)})

    def _send_failed(self, item: _Live, exc: RpcError) -> None:
        extra = {"key": item.key, "nonce": item.nonce, "error": str(exc)}
        if exc.kind == "nonce_too_low" or (exc.kind == "replacement_underpriced"
                                           and not item.ever_sent):
            self._nonce_taken(item)
        elif exc.kind == "replacement_underpriced":
            # An earlier attempt of ours holds the nonce; keep tracking it and bump
            # again when it is stuck again.
            log.warning("replacement refused as underpriced", extra=extra)
            item.unsent = False
            item.sent_head = self._head
        elif exc.kind in RETRY_LATER_ON_SEND:
            item.unsent = True
            item.refee = exc.kind == "fee_too_low"
            item.failures += 1
            delay = min(self._poll_interval * 2 ** item.failures, MAX_BACKOFF)
            # A 429 may say how long to wait (RateLimitedError.retry_after).
            delay = max(delay, getattr(exc, "retry_after", None) or 0.0)
            item.retry_at = time.monotonic() + delay
            log.warning("send failed; will retry", extra={**extra, "delay": delay})
        elif any(a.sent for a in item.attempts):
            log.warning("attempt refused; tracking the earlier one", extra=extra)
            item.unsent = False
        else:
            log.error("send failed for good", extra=extra)
            heapq.heappush(self._free, item.nonce)
            self._finish(item.key, "failed", error=f"send: {exc}")

    def _nonce_taken(self, item: _Live) -> None:
        """The chain says our nonce is used: by one of our attempts (then settle it),
        or by a transaction sent behind our back (then resync and re-sign)."""
        try:
            if item.ever_sent:
                for attempt in reversed(item.attempts):
                    receipt = self._rpc.receipt(attempt.tx_hash)
                    if receipt is not None:
                        self._settle(item, receipt)
                        return
            pending = self._rpc.nonce(self.address, "pending")
        except RpcError as exc:
            log.warning("nonce check failed; will retry", extra={"key": item.key,
                                                                  "error": str(exc)})
            item.unsent = True
            item.retry_at = time.monotonic() + self._poll_interval
            return
        self._resync(pending)
        self._resign(item)

    def _resync(self, pending: int) -> None:
        if pending > self._next_nonce:
            log.warning("nonce resynced from the pending count",
                        extra={"was": self._next_nonce, "now": pending})
            self._next_nonce = pending
        self._free = [n for n in self._free if n >= pending]
        heapq.heapify(self._free)

    def _resign(self, item: _Live) -> None:
        item.resigns += 1
        if item.resigns > MAX_RESIGNS:
            self._finish(item.key, "failed", error="nonce kept being taken by other senders")
            return
        old = item.nonce
        item.nonce = self._take_nonce()
        item.attempts = []
        item.lost = 0
        item.first_sent_at = item.sent_at = item.sent_time = None
        log.warning("re-signing with a new nonce", extra={"key": item.key, "old_nonce": old,
                                                           "nonce": item.nonce})
        self._sign_current(item)

    def _sign_current(self, item: _Live) -> None:
        """Signs a first attempt at the item's nonce now, or on a later tick."""
        try:
            fees = self._fees()
        except RpcError as exc:
            log.warning("fees unavailable; signing later", extra={"error": str(exc)})
            item.unsent = True
            item.retry_at = time.monotonic() + self._poll_interval
            return
        self._sign_and_send(item, fees)

    def _fill_hole(self) -> None:
        """A nonce given back after a failed send blocks every later one: when no new
        transaction takes it, a zero-value transfer to ourselves does."""
        if not self._free or self._ready or self._confirmed is None \
                or self._free[0] != self._confirmed \
                or not any(item.nonce > self._confirmed for item in self._live.values()):
            return
        nonce = heapq.heappop(self._free)
        key = f"wallet:nonce-fill:{self.address.lower()}:{nonce}"
        request = TxRequest(to=self.address, data=b"", simulate=False, gas_limit=21_000)
        record = self.store.open(key, request, "")
        if record.state != "queued":
            return
        log.warning("filling a nonce hole", extra={"nonce": nonce})
        item = _Live(key=key, request=request, nonce=nonce, gas=21_000, attempts=[])
        self._live[key] = item
        self._sign_current(item)

    def _replace(self, item: _Live) -> None:
        try:
            fees = self._fee_policy.replacement(item.attempts[-1].fees,
                                                base_fee=self._fed_base_fee())
        except RpcError as exc:
            log.warning("fees unavailable; replacing later", extra={"error": str(exc)})
            return
        log.info("replacing a stuck transaction", extra={
            "key": item.key, "nonce": item.nonce, "tx_hash": item.attempts[-1].tx_hash,
            "max_fee": fees.max_fee, "priority_fee": fees.priority_fee})
        self._sign_and_send(item, fees)

    def _fees(self) -> Fees:
        return self._fee_policy.fees(base_fee=self._fed_base_fee())

    def _fed_base_fee(self) -> int | None:
        return self._chain_watch.fed_base_fee()

    # --- tracking -----------------------------------------------------------------

    def _head_seen(self, seen: HeadSeen) -> None:
        """The poller's word: the head, and which transactions its logs show succeeded."""
        self._head = seen.head
        self._log_source = seen.log_source.lower()
        start, end = seen.logs
        covered = self._coverage
        if covered is None or start > covered[1] + 1 or start < covered[0]:
            covered = (start, end)  # a gap (we were restarting) or a deep rewind
        self._coverage = (covered[0], end)
        mined = {tx_hash.lower(): block for tx_hash, block in seen.logged}
        for item in list(self._live.values()):
            found = next((a for a in item.attempts if a.tx_hash in mined), None)
            if found is not None:
                self._finish(item.key, "mined", tx_hash=found.tx_hash,
                             block_number=mined[found.tx_hash])
        self._publish()
        # Last: the ticker reads the feed, then the watch list published above.
        self._chain_watch.fed(seen.head, seen.base_fee, seen.heartbeat)

    def _watch_mode(self, item: _Live) -> WatchMode:
        return watch_mode(to=item.request.to, first_sent_at=item.first_sent_at,
                          sent_at=item.sent_at, sent_time=item.sent_time,
                          coverage=self._coverage, log_source=self._log_source,
                          patience=LOGS_PATIENCE)

    def _observed(self, seen: Observed) -> None:
        self._head = seen.head
        if seen.confirmed is not None:
            self._confirmed = seen.confirmed
        # Our lowest open nonce waits for nobody of ours, whatever the last nonce read said.
        self._lowest_live = min((item.nonce for item in self._live.values()), default=None)
        for item in list(self._live.values()):
            if item.key in self._live:
                self._follow(item, seen)
        self._sign_ready()
        self._fill_hole()
        self._redeliver()
        self._publish()

    def _follow(self, item: _Live, seen: Observed) -> None:
        for attempt in item.attempts:
            receipt = seen.receipts.get(attempt.tx_hash)
            if receipt is not None:
                self._settle(item, receipt)
                return
        looked = seen.checked is None or item.nonce in seen.checked or not item.attempts
        if seen.confirmed is not None and item.nonce < seen.confirmed and item.ever_sent \
                and looked:
            item.lost += 1
            if item.lost >= LOST_AFTER_HEADS:
                log.warning("nonce used by another transaction",
                            extra={"key": item.key, "nonce": item.nonce})
                self._resign(item)
            return
        if item.unsent:
            if time.monotonic() >= item.retry_at:
                if not item.attempts:
                    self._sign_current(item)
                elif item.refee:
                    self._replace(item)
                else:
                    self._send(item)
            return
        if item.sent_head is None:
            # Waiting counts from the first head after the send, or, when the poller's logs
            # will show it, from when they cover the block after the send and did not: the
            # poller may trail the chain by several blocks, and the transaction is not stuck.
            if self._watch_mode(item) != "logs":
                item.sent_head = self._head
            return
        stuck_for = self._head - item.sent_head
        if stuck_for < self._replace_after:
            return
        # The lowest unconfirmed nonce is stuck on its own account; later ones may just
        # wait for it, unless their own fees have fallen behind the market.
        first_in_line = self._confirmed is None or item.nonce <= self._confirmed \
            or item.nonce == self._lowest_live
        if first_in_line or self._fee_policy.underpriced(item.attempts[-1].fees,
                                                         base_fee=self._fed_base_fee()):
            self._replace(item)
        else:
            item.sent_head = self._head

    def _settle(self, item: _Live, receipt: Receipt) -> None:
        if receipt.status == 1:
            self._finish(item.key, "mined", tx_hash=receipt.tx_hash,
                         block_number=receipt.block_number, gas_used=receipt.gas_used)
            return
        error, name, action = self._why_reverted(item, receipt)
        self._finish(item.key, "reverted", tx_hash=receipt.tx_hash,
                     block_number=receipt.block_number, gas_used=receipt.gas_used,
                     error=error, revert_name=name, revert_class=action)

    def _why_reverted(self, item: _Live, receipt: Receipt
                      ) -> tuple[str, str | None, str | None]:
        """Best effort: replay the call on the state of the block it reverted in."""
        plain = f"reverted on-chain (gas used {receipt.gas_used} of {item.gas})"
        try:
            self._rpc.call(item.request.to, item.request.data, block=receipt.block_number,
                           sender=self.address, gas=item.gas)
        except RpcError as exc:
            if exc.kind == "revert":
                decoded = decode_revert(exc.data or b"")
                return f"{plain}: {decoded.reason}", decoded.name or None, decoded.action
        return plain, None, None

    def _finish(self, key: str, state: TxState, **outcome: Any) -> None:
        record = self.store.finish(key, state, **outcome)
        self._live.pop(key, None)
        log.info("transaction decided", extra={
            "key": key, "status": state, "tx_hash": record.tx_hash,
            "block": record.block_number, "error": record.error})
        self._notify(record)

    def _notify(self, record: TxRecord) -> None:
        outcome = TransactionOutcome(
            key=record.key, status=outcome_status(record.state), tx_hash=record.tx_hash,
            block_number=record.block_number, gas_used=record.gas_used, error=record.error,
            revert_name=record.revert_name, revert_class=record.revert_class)
        if self._tell(record.reply_to, outcome):
            self.store.mark_notified(record.key)
            self._undelivered.discard(record.key)
        else:
            self._undelivered.add(record.key)

    def _redeliver(self) -> None:
        """Outcomes whose requester was down are told again now and then."""
        now = time.monotonic()
        if not self._undelivered or now < self._redeliver_at:
            return
        self._redeliver_at = now + REDELIVER_EVERY
        for key in list(self._undelivered):
            record = self.store.get(key)
            if record is None or record.notified or record.state not in FINAL_STATES:
                self._undelivered.discard(key)
            else:
                self._notify(record)

    def _tell(self, name: str, message: TransactionOutcome) -> bool:
        if not name:
            return True
        try:
            self.ctx.directory.tell(name, message)
        except ActorUnavailable:
            log.warning("outcome not delivered: requester unavailable",
                        extra={"key": message.key, "reply_to": name})
            return False
        return True

    def _prune(self) -> None:
        assert self._retention is not None
        transactions = attempts = kept = 0
        while transactions < PRUNE_BATCH:
            # The kept ones come first in every chunk again: room for them on top.
            limit = min(PRUNE_CHUNK, PRUNE_BATCH - transactions + kept)
            pruned = self.store.prune(retention=self._retention, limit=limit,
                                      in_use=self._keys_in_use)
            transactions += pruned.transactions
            attempts += pruned.attempts
            kept = max(kept, pruned.kept)
            if pruned.transactions + pruned.kept < limit or not pruned.transactions:
                break  # nothing more is old enough, or only kept ones are
        if transactions:
            log.info("decided transactions pruned", extra={
                "transactions": transactions, "attempts": attempts, "kept_in_use": kept})

    def _publish(self) -> None:
        self._chain_watch.publish(tuple(
            Watch(item.nonce, tuple(a.tx_hash for a in item.attempts), self._watch_mode(item))
            for item in self._live.values() if item.attempts), self._coverage,
            active=bool(self._live or self._ready or self._undelivered))


def _invalid(message: SendTransaction) -> str | None:
    if not message.key:
        return "key: must not be empty"
    if not is_address(message.to):
        return f"to: not an address: {message.to!r}"
    if message.value < 0:
        return "value: must not be negative"
    if message.gas_limit is not None and message.gas_limit <= 0:
        return "gas_limit: must be positive"
    if message.block is not None and message.block < 0:
        return "block: must not be negative"
    return None
