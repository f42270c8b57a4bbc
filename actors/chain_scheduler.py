"""The chain scheduler: decides when on-chain work is due and sees it through to delivery.

It learns subscriptions and chain time from the poller, works out *when* each
interval falls due (no re-reading of every subscription every cycle), and at
that moment reads what it must know in one batched RPC request (is the interval
full, the consumer's inputs, the payment wallet). How full an interval is goes
unread for subscriptions whose creation the poller reported: every fulfilment
since has been told, so the count is known (until a reorg rewinds the poller;
the delivery's simulation still guards against a race).
Work for a (subscription, interval) is claimed in the claim store before a job
is handed to the router, so each interval runs exactly once; the job's result
is encoded and handed to the wallet under the same idempotency key.

Failures are retried a bounded number of times with a delay, and the last
attempt says so in one final log line. A revert is sorted by its meaning:
terminal for the subscription (stop tracking), terminal for the interval (skip
it), or worth retrying later (e.g. SubscriptionNotActive while the chain
catches up).

This actor holds the state and does the talking; the decisions are pure and live in
``node.chain``: ``due_work`` (when an interval is due, what to read for it, what the
answers mean), ``fulfilment_counts``, ``subscription_completion`` and
``claim_delivery`` (wallet keys, calldata, escrow approval, retry delay).

Completed subscriptions leave tracking: the rule, and why forgetting them changes
no decision, is in ``node.chain.subscription_completion``. On completion the
subscription is untracked, its claims get ``closes_at`` and the poller is told
to stop replaying it (``ForgetSubscriptions``).

Settled claims are pruned on a chain head at most every ``PRUNE_EVERY`` seconds,
``PRUNE_BATCH`` at a time, once nothing can look them up any more and they are
older than the retention (the rule: ``node.store.claim_store``). Each claim
carries the chain time its interval stops being reachable (``closes_at``); a
cancellation brings it forward for every claim of the subscription.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import pykka

from actors.base import ChildContext, SupervisedActor
from actors.board import Board
from actors.directory import ActorUnavailable
from actors.router import ROUTER
from node.chain import contracts
from node.chain.claim_delivery import (
    approval_key,
    delivery_calldata,
    delivery_key,
    escrow_needed,
    onchain_sub_id,
    retry_delay,
    wallet_keys_in_use,
)
from node.chain.container_ids import ContainerIdResolver
from node.chain.delegation import ClaimPayload, DelegatedRequest, decode_payload, encode_payload
from node.chain.due_work import (
    DueInterval,
    NotActiveYet,
    PastLastInterval,
    TrackedSubscription,
    Verdict,
    answers_per_interval,
    batch_reads,
    current_interval,
    decide,
    first_wake,
)
from node.chain.fulfilment_counts import FulfilmentCounts
from node.chain.output_encoding import OutputEncodingError, encode_onchain_output
from node.chain.poller_messages import (
    ChainHead,
    ForgetSubscriptions,
    IntervalFulfilled,
    Rewound,
    SnapshotDone,
    SubscriptionCancelled,
    SubscriptionsSeen,
)
from node.chain.rpc_types import Rpc, RpcError
from node.chain.scheduler_messages import SchedulerReport, SchedulerStatus, TrackDelegated
from node.chain.subscription import ZERO_ADDRESS, Subscription
from node.chain.subscription_completion import completion_reason
from node.chain.wallet_messages import SendTransaction, TransactionOutcome
from node.guardian import GuardianRules, check_onchain
from node.messages import (
    ContainerError,
    ContainerOutput,
    ContainerResult,
    Delivery,
    JobFinished,
    JobLocation,
    JobSpec,
    RecordDelivery,
    SubmitChainJob,
)
from node.store.base import JobStore
from node.store.claim_store import Claim, ClaimStore, claim_key

__all__ = ["CHAIN_CLIENT", "POLLER", "PRUNE_BATCH", "PRUNE_EVERY", "SCHEDULER", "WALLET",
           "ChainSchedulerActor", "SchedulerStatus", "Tick", "delivery_key",
           "wallet_keys_in_use"]

log = logging.getLogger(__name__)

SCHEDULER = "chain-scheduler"
WALLET = "wallet"
POLLER = "chain-poller"  # the name actors.chain_system starts the subscription poller under
CHAIN_CLIENT = "chain"  # the client key on-chain jobs are stored under
PRUNE_EVERY = 600.0  # seconds between prune runs
PRUNE_BATCH = 5000  # claims deleted per run at most (a backlog goes over several runs)


class Tick(msgspec.Struct, frozen=True, tag=True):
    """Time passes: retries whose delay is over run again."""


class ChainSchedulerActor(SupervisedActor):
    def __init__(
        self,
        ctx: ChildContext,
        *,
        rpc: Rpc,
        coordinator: str,
        reader: str,
        wallet_factory: str,
        node_address: str,
        payment_address: str | None,
        rules: GuardianRules,
        resolver: ContainerIdResolver,
        claims: ClaimStore,
        jobs: JobStore,
        board: Board,
        max_attempts: int = 3,
        retry_delay: float = 2.0,
        batch_limit: int = 50,
        tick_every: float = 0.5,
        retention: float | None = None,
        poller: str = POLLER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ctx)
        self._rpc = rpc
        self._coordinator = contracts.Coordinator(rpc, coordinator)
        self._reader = contracts.Reader(rpc, reader)
        self._factory = wallet_factory
        self._me = node_address
        self._node_wallet = payment_address or ZERO_ADDRESS
        self._rules = rules
        self._resolver = resolver
        self._claims = claims
        self._jobs = jobs
        self._board = board
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._batch_limit = batch_limit
        self._tick_every = tick_every
        self._clock = clock
        # Settled claims older than this may be pruned (None: kept for ever).
        self._retention = retention
        self._prune_at = 0.0
        self._tracked: dict[int, TrackedSubscription] = {}
        self._wakeups: list[tuple[int, int]] = []  # (chain time, subscription id)
        self._open: dict[str, Claim] = {}  # claim key -> open claim
        self._by_job: dict[str, str] = {}  # job id -> claim key
        self._by_tx: dict[str, str] = {}  # wallet tx key -> claim key
        self._orphans: dict[str, ContainerResult] = {}
        self._undelivered: set[str] = set()
        self._approvals: dict[str, str] = {}  # approve tx key -> claim key
        # Subscriptions seen created, whose every fulfilment since was told.
        self._fulfilments: dict[int, FulfilmentCounts] = {}
        self._poller = poller
        self._completed: list[int] = []  # told to the poller after the current message
        self._chain_time = 0
        self._head = 0
        self._block = 0  # the last ChainHead's block, or the block a Rewound went back to
        self._delivered = 0
        self._failed = 0
        self._ticker_stop = threading.Event()

    # --- lifecycle ----------------------------------------------------------------

    def started(self) -> None:
        for claim in self._claims.open_claims():
            self._open[claim.key] = claim
            if claim.job_id:
                self._by_job[claim.job_id] = claim.key
            payload = decode_payload(claim.payload)
            if claim.state == "delivering" and payload.calldata and payload.tx_key:
                # Same key: the wallet never sends twice, it re-tells the outcome.
                self._deliver(claim)
            elif claim.state == "claimed" and claim.job_id:
                record = self._jobs.get(self._client_of(claim), claim.job_id)
                if record is not None and record.status != "running" and record.result:
                    self._job_finished(claim.job_id, record.result)
        if self._open:
            log.info("resumed open claims", extra={"count": len(self._open)})
        me, stop, every = self.actor_ref, self._ticker_stop, self._tick_every

        def tick() -> None:
            while not stop.wait(every):
                try:
                    me.tell(Tick())
                except pykka.ActorDeadError:
                    return

        threading.Thread(target=tick, name="scheduler-tick", daemon=True).start()

    def stopping(self) -> None:
        self._ticker_stop.set()

    def failed(self) -> None:
        self._ticker_stop.set()

    # --- messages -------------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            if self._completed:
                self._tell_completed()

    def _handle(self, message: Any) -> Any:
        if isinstance(message, ChainHead):
            self._chain_time = max(self._chain_time, message.block_time)
            self._head = max(self._head, message.block)
            self._block = message.block
            self._run_due()
            self._run_retries()
            self._prune()
        elif isinstance(message, SubscriptionsSeen):
            self._chain_time = max(self._chain_time, message.block_time)
            for sub in message.subscriptions:
                self._fulfilments.pop(sub.id, None)
                self._seen(sub)
                if message.created and sub.id in self._tracked:
                    self._fulfilments[sub.id] = FulfilmentCounts()
        elif isinstance(message, SubscriptionCancelled):
            self._cancelled(message.sub_id)
        elif isinstance(message, IntervalFulfilled):
            self._fulfilled(message)
        elif isinstance(message, JobFinished):
            self._job_finished(message.job_id, message.result)
        elif isinstance(message, TransactionOutcome):
            self._outcome(message)
        elif isinstance(message, TrackDelegated):
            return self._track_delegated(message.request)
        elif isinstance(message, Tick):
            self._run_retries()
        elif isinstance(message, SchedulerStatus):
            return SchedulerReport(tracked=len(self._tracked), chain_time=self._chain_time,
                                   head_block=self._head, open_claims=len(self._open),
                                   delivered=self._delivered, failed=self._failed)
        elif isinstance(message, Rewound):
            self._fulfilments.clear()  # what was told after the fork point may be undone
            self._block = min(self._block, message.to_block)
        elif isinstance(message, SnapshotDone):
            pass  # everything the poller sends is idempotent; nothing to undo here
        else:
            raise TypeError(f"scheduler cannot handle {type(message).__name__}")
        return None

    # --- tracking -------------------------------------------------------------------

    def _seen(self, sub: Subscription) -> None:
        if sub.cancelled and sub.id in self._tracked:
            self._cancelled(sub.id)
            return
        if not sub.exists or sub.cancelled:
            self._untrack(sub.id, "cancelled" if sub.cancelled else "gone")
            return
        containers = self._resolver.resolve(sub.container_id)
        rejection = check_onchain(
            self._rules, sub.owner, containers, sub.verifier, sub.payment_amount,
            sub.payment_token, self._rules.has_payment_address, completed=False)
        if rejection is not None or containers is None:
            if sub.id in self._tracked:
                self._untrack(sub.id, rejection.error if rejection else "not ours")
            elif rejection is not None and rejection.error != "Container-set not supported":
                log.info("subscription ignored", extra={"subscription_id": sub.id,
                                                        "reason": rejection.error})
            return
        known = sub.id in self._tracked
        self._tracked[sub.id] = TrackedSubscription(sub, containers)
        if not known:
            log.info("subscription tracked", extra={"subscription_id": sub.id,
                                                    "containers": containers})
        heapq.heappush(self._wakeups, (first_wake(sub, self._chain_time), sub.id))

    def _untrack(self, sub_id: int, reason: str) -> None:
        self._fulfilments.pop(sub_id, None)
        if self._tracked.pop(sub_id, None) is not None:
            log.info("subscription no longer tracked",
                     extra={"subscription_id": sub_id, "reason": reason})

    def _complete_if_done(self, tracked: TrackedSubscription, last: Claim | None = None) -> bool:
        """Forgets ``tracked`` if it is complete (``node.chain.subscription_completion``).
        ``last``: its last interval's claim, when the caller has it at hand."""
        sub = tracked.sub

        def has_open_claim() -> bool:
            return any(claim.sub_key == tracked.key for claim in self._open.values())

        def last_claim() -> Claim | None:
            if last is not None and last.interval == sub.last_interval:
                return last
            return self._claims.get(claim_key(tracked.key, sub.last_interval))

        reason = completion_reason(sub, self._chain_time, has_open_claim=has_open_claim,
                                   last_claim=last_claim)
        if reason is None:
            return False
        self._fulfilments.pop(sub.id, None)
        self._tracked.pop(sub.id, None)
        if self._chain_time > 0:
            self._claims.close_subscription(tracked.key, self._chain_time)
        self._completed.append(sub.id)
        log.debug("subscription complete; no longer tracked",
                  extra={"subscription_id": sub.id, "reason": reason})
        return True

    def _tell_completed(self) -> None:
        ids, self._completed = tuple(self._completed), []
        try:
            self.ctx.directory.tell(self._poller, ForgetSubscriptions(ids, self._block))
        except ActorUnavailable:
            pass  # a restarted poller replays them; they are found complete again

    def _cancelled(self, sub_id: int) -> None:
        """Cancelled for good: none of its claims will be looked up again."""
        self._untrack(sub_id, "cancelled")
        if self._chain_time > 0:
            self._claims.close_subscription(f"sub:{sub_id}", self._chain_time)

    def _fulfilled(self, event: IntervalFulfilled) -> None:
        tracked = self._tracked.get(event.sub_id)
        if tracked is None:
            return
        interval = tracked.sub.interval(event.block_time)
        counted = self._fulfilments.get(event.sub_id)
        if counted is not None:
            counted.add(interval, event.node)
        if event.node.lower() != self._me.lower():
            return
        claim = self._open.get(claim_key(tracked.key, interval))
        if claim is not None and claim.state != "delivering":
            self._settle(claim, "delivered", "delivery seen on-chain")

    # --- due work ---------------------------------------------------------------------

    def _run_due(self) -> None:
        """Everything due now, in batches of ``batch_limit`` (one RPC request each)."""
        now = self._chain_time
        while self._wakeups and self._wakeups[0][0] <= now:
            due: dict[int, DueInterval] = {}
            while self._wakeups and self._wakeups[0][0] <= now and len(due) < self._batch_limit:
                _, sub_id = heapq.heappop(self._wakeups)
                tracked = self._tracked.get(sub_id)
                if tracked is None or sub_id in due:
                    continue
                item = self._due_item(tracked, now)
                if item is not None:
                    due[sub_id] = item
            if due:
                self._check_and_start(list(due.values()))

    def _due_item(self, tracked: TrackedSubscription, now: int) -> DueInterval | None:
        sub = tracked.sub
        where = current_interval(sub, now)
        if isinstance(where, NotActiveYet):
            heapq.heappush(self._wakeups, (where.wake_at, sub.id))
            return None
        if isinstance(where, PastLastInterval):
            # An interval still open completes it when it settles.
            self._complete_if_done(tracked)
            return None
        if where.next_wake is not None:
            heapq.heappush(self._wakeups, (where.next_wake, sub.id))
        key = claim_key(tracked.key, where.interval)
        if key in self._open:
            return None  # in progress, or waiting for a retry
        existing = self._claims.get(key)
        if existing is not None and existing.final:
            self._complete_if_done(tracked, existing)  # e.g. replayed after a restart
            return None
        return DueInterval(tracked, where.interval,
                           0 if existing is None else existing.attempts)

    def _known_count(self, item: DueInterval) -> int | None:
        counted = self._fulfilments.get(item.tracked.sub.id)
        return None if counted is None else counted.count(item.interval)

    def _check_and_start(self, due: list[DueInterval]) -> None:
        known = [self._known_count(d) for d in due]
        calls = batch_reads(due, known, self._reader, chain_time=self._chain_time,
                            node=self._me, wallet_factory=self._factory)
        try:
            answers = contracts.run_batch(self._rpc, calls)
        except RpcError as exc:
            log.warning("due checks failed; will retry", extra={"error": str(exc),
                                                                "count": len(due)})
            for item in due:
                heapq.heappush(self._wakeups, (self._chain_time + 1, item.tracked.sub.id))
            return
        for item, item_answers in zip(due, answers_per_interval(due, known, answers),
                                      strict=True):
            self._decide(item, item_answers)

    def _decide(self, item: DueInterval, answers: list[Any]) -> None:
        """``answers``: redundancy count, inputs, then (paid) wallet validity and balance."""
        sub, key = item.tracked.sub, claim_key(item.tracked.key, item.interval)
        decision = decide(sub, answers, lambda: self._rpc.balance(sub.wallet))
        if decision.verdict is Verdict.RECHECK:
            heapq.heappush(self._wakeups, (self._chain_time + 1, sub.id))
        elif decision.verdict is Verdict.SKIP:
            self._settle(self._claim(key, item), "skipped", "interval completed")
        elif decision.verdict is Verdict.INVALID_WALLET:
            self._untrack(sub.id, "InvalidWallet: the consumer wallet is not from the factory")
        elif decision.verdict is Verdict.UNDERFUNDED:
            # Funds may still arrive: this interval is retried (boundedly), later ones too.
            claim = msgspec.structs.replace(self._claim(key, item), attempts=item.attempts + 1)
            self._retry(claim,
                        f"the consumer wallet holds less than the payment {sub.payment_amount}")
        else:
            self._start_job(item, decision.inputs)

    def _claim(self, key: str, item: DueInterval) -> Claim:
        return Claim(key=key, sub_key=item.tracked.key, interval=item.interval,
                     state="claimed", attempts=item.attempts,
                     closes_at=item.tracked.sub.interval_end(item.interval))

    def _start_job(self, item: DueInterval, inputs: bytes) -> None:
        sub = item.tracked.sub
        job_id = str(uuid.uuid4())
        claim = msgspec.structs.replace(
            self._claim(claim_key(item.tracked.key, item.interval), item),
            attempts=item.attempts + 1, job_id=job_id)
        self._store_claim(claim)
        spec = JobSpec(id=job_id, client=CHAIN_CLIENT, containers=item.tracked.containers,
                       data=msgspec.Raw(msgspec.json.encode(inputs.hex())),
                       requires_proof=sub.requires_proof, source=JobLocation.ONCHAIN,
                       destination=JobLocation.ONCHAIN, reply_to=SCHEDULER)
        log.info("interval due; job started",
                 extra={"subscription_id": sub.id, "interval": item.interval, "job_id": job_id,
                        "attempt": claim.attempts})
        self._board.onchain_running += 1
        try:
            self.ctx.directory.tell(ROUTER, SubmitChainJob(spec))
        except ActorUnavailable:
            self._retry(claim, "the router is restarting")

    # --- results and deliveries ------------------------------------------------------

    def _job_finished(self, job_id: str, result: ContainerResult) -> None:
        key = self._by_job.pop(job_id, None)
        claim = self._open.get(key) if key else None
        if claim is None:
            if job_id in self._undelivered:
                self._undelivered.discard(job_id)
            else:
                self._orphans[job_id] = result  # its claim may not be known yet (delegated)
            return
        self._board.onchain_running = max(self._board.onchain_running - 1, 0)
        payload = decode_payload(claim.payload)
        if isinstance(result, ContainerError):
            self._retry(claim, f"container {result.container} failed: {result.error}")
            return
        assert isinstance(result, ContainerOutput)
        try:
            encoded = encode_onchain_output(result.output)
        except OutputEncodingError as exc:
            self._retry(claim, f"container {result.container} output cannot be encoded: {exc}")
            return
        calldata = delivery_calldata(claim, payload.delegated, encoded, self._node_wallet)
        tx_key = delivery_key(claim.key, claim.attempts)
        claim = msgspec.structs.replace(
            claim, state="delivering",
            payload=encode_payload(ClaimPayload(delegated=payload.delegated, calldata=calldata,
                                                tx_key=tx_key)))
        self._store_claim(claim)
        self._deliver(claim)

    def _deliver(self, claim: Claim) -> None:
        """Hand a claim's delivery to the wallet (after the escrow approval it may need)."""
        payload = decode_payload(claim.payload)
        if payload.calldata is None or payload.tx_key is None:
            return
        calldata, tx_key = payload.calldata, payload.tx_key
        escrow = self._escrow_needed(claim, payload.delegated)
        if escrow is not None:
            # Proof subscriptions lock the node's stake from its payment wallet: approve the
            # node account for the payment first; the delivery follows once that is mined.
            token, amount = escrow
            approve_key = approval_key(tx_key)
            self._approvals[approve_key] = claim.key
            try:
                self.ctx.directory.tell(WALLET, SendTransaction(
                    key=approve_key, to=self._node_wallet,
                    data=contracts.encode_wallet_approve(self._me, token, amount),
                    reply_to=SCHEDULER))
            except ActorUnavailable:
                self._retry(claim, "the wallet is restarting", redeliver=True)
            return
        self._by_tx[tx_key] = claim.key
        self._send(claim, calldata, tx_key)

    def _escrow_needed(self, claim: Claim,
                       delegated: DelegatedRequest | None) -> tuple[str, int] | None:
        if delegated is not None:
            sub: Subscription | None = delegated.subscription
        else:
            sub_id = onchain_sub_id(claim.sub_key)
            tracked = self._tracked.get(sub_id) if sub_id is not None else None
            sub = tracked.sub if tracked is not None else None
        return escrow_needed(sub, self._node_wallet)

    def _approval_outcome(self, outcome: TransactionOutcome) -> None:
        key = self._approvals.pop(outcome.key)
        claim = self._open.get(key)
        if claim is None:
            return
        if outcome.status != "mined":
            self._retry(claim, f"escrow approval {outcome.status}: "
                               f"{outcome.revert_name or outcome.error}", redeliver=True)
            return
        payload = decode_payload(claim.payload)
        if payload.calldata is None or payload.tx_key is None:
            return
        self._by_tx[payload.tx_key] = claim.key
        self._send(claim, payload.calldata, payload.tx_key)

    def _send(self, claim: Claim, calldata: bytes, tx_key: str) -> None:
        try:
            self.ctx.directory.tell(WALLET, SendTransaction(
                key=tx_key, to=self._coordinator.address, data=calldata, reply_to=SCHEDULER))
        except ActorUnavailable:
            self._retry(claim, "the wallet is restarting")
            return
        self._note_delivery(claim, Delivery(status="sent"))

    def _outcome(self, outcome: TransactionOutcome) -> None:
        if outcome.key in self._approvals:
            self._approval_outcome(outcome)
            return
        if outcome.status in ("mined", "reverted"):
            self._board.transactions_sent += 1
        if outcome.status != "mined":
            self._board.transactions_failed += 1
        key = self._by_tx.pop(outcome.key, None)
        claim = self._open.get(key) if key else None
        if claim is None:
            return
        if outcome.status == "mined":
            self._delivered += 1
            log.info("delivered", extra={"claim": claim.key, "tx_hash": outcome.tx_hash,
                                         "block": outcome.block_number})
            self._note_delivery(claim, Delivery(status="mined", tx_hash=outcome.tx_hash,
                                                block_number=outcome.block_number))
            self._settle(claim, "delivered", None)
            return
        reason = outcome.revert_name or outcome.error or outcome.status
        action = outcome.revert_class
        if action == "terminal_subscription":
            self._note_delivery(claim, Delivery(status="failed", tx_hash=outcome.tx_hash,
                                                error=reason))
            self._settle(claim, "failed", reason)
            sub_id = onchain_sub_id(claim.sub_key)
            if sub_id is not None:
                self._untrack(sub_id, reason)
        elif action == "terminal_interval":
            self._note_delivery(claim, Delivery(status="failed", tx_hash=outcome.tx_hash,
                                                error=reason))
            self._settle(claim, "skipped", reason)
        else:
            self._retry(claim, f"delivery {outcome.status}: {reason}", redeliver=True)

    # --- retries and settling -------------------------------------------------------

    def _retry(self, claim: Claim, reason: str, *, redeliver: bool = False) -> None:
        if claim.attempts >= self._max_attempts:
            self._failed += 1
            log.error("giving up on interval after bounded retries",
                      extra={"claim": claim.key, "attempts": claim.attempts, "reason": reason})
            self._note_delivery(claim, Delivery(status="failed", error=reason))
            self._settle(claim, "failed", reason)
            return
        delay = retry_delay(self._retry_delay, claim.attempts)
        log.warning("interval will be retried",
                    extra={"claim": claim.key, "attempt": claim.attempts, "reason": reason,
                           "delay": delay})
        payload = decode_payload(claim.payload)
        if not redeliver:
            payload = ClaimPayload(delegated=payload.delegated)
        self._store_claim(msgspec.structs.replace(
            claim, state="retry", reason=reason, retry_at=self._clock() + delay,
            payload=encode_payload(payload)))

    def _run_retries(self) -> None:
        now = self._clock()
        for claim in [c for c in self._open.values() if c.state == "retry"]:
            if claim.retry_at is not None and claim.retry_at > now:
                continue
            payload = decode_payload(claim.payload)
            if payload.calldata is not None:
                # The result is known; only the delivery is tried again, under a new key.
                tx_key = delivery_key(claim.key, claim.attempts + 1)
                claim = msgspec.structs.replace(claim, state="delivering",
                                                attempts=claim.attempts + 1,
                                                payload=encode_payload(msgspec.structs.replace(
                                                    payload, tx_key=tx_key)))
                self._store_claim(claim)
                self._deliver(claim)
            elif payload.delegated is not None:
                self._restart_delegated(claim, payload.delegated)
            else:
                self._retry_onchain(claim)

    def _retry_onchain(self, claim: Claim) -> None:
        sub_id = int(claim.sub_key.removeprefix("sub:"))
        tracked = self._tracked.get(sub_id)
        if tracked is None or tracked.sub.interval(self._chain_time) != claim.interval:
            self._settle(claim, "failed", f"{claim.reason}; the interval passed")
            return
        del self._open[claim.key]
        self._check_and_start([DueInterval(tracked, claim.interval, claim.attempts)])

    def _settle(self, claim: Claim, state: str, reason: str | None) -> None:
        final = msgspec.structs.replace(claim, state=state, reason=reason)  # type: ignore[arg-type]
        self._claims.put(final)
        self._open.pop(claim.key, None)
        if claim.job_id:
            self._by_job.pop(claim.job_id, None)
        sub_id = onchain_sub_id(claim.sub_key)
        tracked = self._tracked.get(sub_id) if sub_id is not None else None
        if tracked is not None:
            self._complete_if_done(tracked, final)

    def _prune(self) -> None:
        """Deletes settled claims nothing can look up any more (bounded, now and then)."""
        now = self._clock()
        if self._retention is None or self._chain_time <= 0 or now < self._prune_at:
            return
        self._prune_at = now + PRUNE_EVERY
        removed = self._claims.prune(chain_time=self._chain_time, retention=self._retention,
                                     limit=PRUNE_BATCH)
        if removed:
            log.info("settled claims pruned", extra={"claims": removed,
                                                     "chain_time": self._chain_time})

    def _store_claim(self, claim: Claim) -> None:
        self._claims.put(claim)
        self._open[claim.key] = claim
        if claim.job_id:
            self._by_job[claim.job_id] = claim.key

    # --- delegated subscriptions ------------------------------------------------------

    def _track_delegated(self, request: DelegatedRequest) -> bool:
        sub = request.subscription
        now = max(self._chain_time, int(self._clock()))
        interval = sub.interval(now) if sub.active(now) else 1
        key = claim_key(request.sub_key, interval)
        existing = self._claims.get(key)
        if existing is not None and (existing.final or key in self._open):
            # Served already (a resubmission): the client still gets the job's result over
            # REST, but nothing is delivered twice.
            log.info("delegated subscription already handled for this interval",
                     extra={"claim": key, "state": existing.state, "job_id": request.job_id})
            self._undelivered.add(request.job_id)
            return True
        # The gate refuses the request once its signature expired; before that, the
        # interval moves on at the interval's end.
        end = sub.interval_end(interval)
        claim = Claim(key=key, sub_key=request.sub_key, interval=interval, state="claimed",
                      attempts=1, job_id=request.job_id,
                      payload=encode_payload(ClaimPayload(delegated=request)),
                      closes_at=request.expiry if end is None else min(end, request.expiry))
        self._store_claim(claim)
        orphan = self._orphans.pop(request.job_id, None)
        if orphan is not None:
            self._job_finished(request.job_id, orphan)
        return True

    def _restart_delegated(self, claim: Claim, request: DelegatedRequest) -> None:
        job_id = str(uuid.uuid4())
        claim = msgspec.structs.replace(claim, state="claimed", attempts=claim.attempts + 1,
                                        job_id=job_id)
        self._store_claim(claim)
        # The record the client watches keeps its id; the retry runs as a new job.
        self._by_job[job_id] = claim.key
        record = self._jobs.get(request.client, request.job_id)
        data = record.data if record is not None and record.data is not None else None
        if data is None:
            self._settle(claim, "failed", "the delegated job's input is gone")
            return
        spec = JobSpec(id=job_id, client=CHAIN_CLIENT, containers=request.containers,
                       data=data, requires_proof=request.subscription.requires_proof,
                       source=JobLocation.OFFCHAIN, destination=JobLocation.ONCHAIN,
                       reply_to=SCHEDULER)
        try:
            self.ctx.directory.tell(ROUTER, SubmitChainJob(spec))
        except ActorUnavailable:
            self._retry(claim, "the router is restarting")

    def _note_delivery(self, claim: Claim, delivery: Delivery) -> None:
        request = decode_payload(claim.payload).delegated
        if request is None:
            return
        try:
            self.ctx.directory.tell(ROUTER, RecordDelivery(
                client=request.client, job_id=request.job_id, delivery=delivery))
        except ActorUnavailable:
            pass

    def _client_of(self, claim: Claim) -> str:
        request = decode_payload(claim.payload).delegated
        if request is not None and request.job_id == claim.job_id:
            return request.client
        return CHAIN_CLIENT
