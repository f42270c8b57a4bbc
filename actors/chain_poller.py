"""The subscription poller: keeps the consumer (the scheduler) told about every
Coordinator subscription, from a durable cursor, with no log filters.

Startup: replay what the store holds, then (if the startup sync never finished)
read the existing subscriptions through the Reader in batches, one message per
batch so a stop request is handled between batches. Steady state: each poll
reads the latest header (``eth_getBlockByNumber("latest")``: number, hash,
parent hash, time and base fee in one call; with ``trail_head_blocks`` > 0, the
trailing block's header follows when it is new). Per new block, one
``eth_getLogs`` for SubscriptionCreated/Cancelled/Fulfilled and a Reader batch
only when subscriptions were created — never a re-read of the tracked ones. A
parent-hash mismatch walks back through the stored block hashes to the common
ancestor and replays from there.

Besides the consumer, an optional head listener (the wallet) is told each head
with the transactions behind the logs just read, so it needs neither its own
head polling nor receipts for deliveries that succeeded.

Subscriptions that will never be due again leave tracking: the consumer tells
``ForgetSubscriptions`` for the ones it completed, and the store marks done the
ones the chain finished with (cancelled; recurring past their last interval;
callbacks whose redundancy the logs used up). Done ones are not replayed, and
their rows go once past the reorg window (``node.store.sync_store``). Ids below the
synced highest id are never read again in steady state, so a forgotten subscription
does not come back as new.

The poller never judges subscriptions (the consumer runs the guardian), so one
the node rejects cannot hold up the ones after it. Retryable RPC failures back
off exponentially (logged once per change of state); anything unexpected fails
the actor, and its replacement resumes from the stored cursor.

This module is the state machine only; what needs no actor lives in node.chain:
the chain reads in ``coordinator_reader``, log decoding in ``coordinator_events``,
the retry schedule in ``backoff``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import pykka

from actors.base import ChildContext, SupervisedActor
from actors.directory import ActorUnavailable
from node.chain.backoff import Backoff
from node.chain.coordinator_events import SubscriptionEvent
from node.chain.coordinator_reader import CoordinatorReader, LogRpc
from node.chain.poller_messages import (
    ChainHead,
    ForgetSubscriptions,
    HeadSeen,
    IntervalFulfilled,
    PollerEvent,
    Rewound,
    SnapshotDone,
    SubscriptionCancelled,
    SubscriptionsSeen,
    SyncReport,
    SyncStatus,
)
from node.chain.rpc_types import Block, RpcError
from node.chain.subscription import Subscription
from node.messages import ChildRestarted
from node.progress import CountProgress
from node.store.chain_db import ChainDb
from node.store.sync_store import BlockRef, SnapshotProgress, SyncStore

log = logging.getLogger(__name__)

SUBSCRIPTION_POLLER = "subscription-poller"
MAX_BACKOFF = 30.0
MAX_LOG_RANGE = 500      # blocks per eth_getLogs when catching up
WINDOW_MARGIN = 64       # block hashes kept beyond the trailing window
MIN_TICK = 0.05
HEARTBEAT_EVERY = 1.0    # seconds between HeadSeen to the head listener with no new block


class Poll(msgspec.Struct, frozen=True, tag=True):
    """Ticker -> poller: look at the chain (or retry after a backoff)."""


class Replay(msgspec.Struct, frozen=True, tag=True):
    """Re-send everything stored to the consumer (it lost its state)."""


class _SnapshotStep(msgspec.Struct, frozen=True, tag=True):
    run: int  # ignores a timer left over from an earlier snapshot run


class ConsumerDown(Exception):
    """The consumer is restarting; what was to be told is told again later."""


# --- the actor ------------------------------------------------------------------------


@dataclass
class _Snapshot:
    first: BlockRef      # where the cursor starts once the sync is complete
    read_at: BlockRef    # where this run reads
    next_id: int
    end: int             # exclusive: the Coordinator's id counter at ``read_at``
    run: int
    start: int = 0       # the first id of this run (for the progress display)
    progress: CountProgress | None = None


Phase = Literal["replay", "snapshot", "steady"]


class SubscriptionPollerActor(SupervisedActor):
    def __init__(
        self,
        ctx: ChildContext,
        *,
        rpc: LogRpc,
        coordinator_address: str,
        reader_address: str,
        db: ChainDb,
        consumer: str,
        trail_head_blocks: int = 1,
        batch_size: int = 500,
        starting_sub_id: int = 0,
        batch_sleep: float = 1.0,
        sync_period: float = 0.5,
        head_listener: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(ctx)
        if batch_size < 1 or trail_head_blocks < 0 or starting_sub_id < 0:
            raise ValueError("batch_size must be >= 1, trail_head_blocks and "
                             "starting_sub_id >= 0")
        self._chain = CoordinatorReader(rpc, coordinator_address, reader_address)
        self._rpc = rpc
        self._db = db
        self._consumer = consumer
        self._listener = head_listener
        self._clock = clock
        self._told_head_at: float | None = None
        self._base_fee: int | None = None
        self._trail = trail_head_blocks
        self._batch_size = batch_size
        self._starting_sub_id = starting_sub_id
        self._batch_sleep = batch_sleep
        self._sync_period = max(sync_period, MIN_TICK)
        self._backoff = Backoff(clock, first=max(batch_sleep, sync_period, 0.2), cap=MAX_BACKOFF)
        self._keep_blocks = trail_head_blocks + WINDOW_MARGIN
        self._store: SyncStore | None = None
        self._phase: Phase = "replay"
        self._snapshot: _Snapshot | None = None
        self._snapshot_runs = 0
        self._step_scheduled = False
        self._head: int | None = None
        self._logged_block: tuple[int, str] | None = None  # the cursor, if it had logs
        self._lagging = False
        self._ticker_stop = threading.Event()
        self._poll_pending = threading.Event()
        self._timers: set[threading.Timer] = set()
        self._timers_lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------

    def started(self) -> None:
        self._store = SyncStore(self._db)
        self._start_ticker()
        self._request_poll()

    def stopping(self) -> None:
        self._halt()

    def failed(self) -> None:
        self._halt()

    def _halt(self) -> None:
        self._ticker_stop.set()
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

    def _start_ticker(self) -> None:
        stop, every = self._ticker_stop, self._sync_period

        def tick() -> None:
            # A steady cadence (no drift by the wake-up delay): polls cost the same
            # whether blocks come or not.
            due = time.monotonic() + every
            while not stop.wait(max(due - time.monotonic(), 0.0)):
                if not self._request_poll():
                    return
                due = max(due + every, time.monotonic())

        threading.Thread(target=tick, name="subscription-poller-tick", daemon=True).start()

    def _request_poll(self) -> bool:
        """At most one Poll waits in the mailbox, however slow a poll is."""
        if self._poll_pending.is_set():
            return True
        self._poll_pending.set()
        try:
            self.actor_ref.tell(Poll())
        except pykka.ActorDeadError:
            return False
        return True

    def _later(self, delay: float, message: Any) -> None:
        me = self.actor_ref

        def fire() -> None:
            with self._timers_lock:
                self._timers.discard(timer)
            try:
                me.tell(message)
            except pykka.ActorDeadError:
                pass

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._timers_lock:
            if self._ticker_stop.is_set():
                return
            self._timers.add(timer)
        timer.start()

    # --- messages ---------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        if isinstance(message, Poll):
            self._poll_pending.clear()
            if not self._backoff.waiting() and not self._step_scheduled:
                self._guarded(self._work)
        elif isinstance(message, _SnapshotStep):
            if self._snapshot is not None and message.run == self._snapshot.run:
                self._step_scheduled = False
                self._guarded(self._work)
        elif isinstance(message, SyncStatus):
            return self._sync_report()
        elif isinstance(message, ForgetSubscriptions):
            self._forget(message)
        elif isinstance(message, Replay):
            self._replay_later()
        elif isinstance(message, ChildRestarted):
            if message.name == self._consumer:
                self._replay_later()
        else:
            raise TypeError(f"subscription poller got {type(message).__name__}")
        return None

    def _forget(self, message: ForgetSubscriptions) -> None:
        """Marks the consumer's completed subscriptions done (no chain reads). They are
        deleted once their block leaves the reorg window (``SyncStore``)."""
        state = self.store.state()
        at = state.cursor or (state.snapshot.at if state.snapshot else None)
        if at is not None and message.block > at.number:
            log.debug("completed subscriptions decided past the rewound cursor; kept",
                      extra={"count": len(message.sub_ids), "block": message.block,
                             "cursor": at.number})
            return
        done = self.store.mark_done(message.sub_ids, max(message.block,
                                                         at.number if at else 0))
        log.debug("completed subscriptions no longer replayed",
                  extra={"count": done, "block": message.block})

    def _replay_later(self) -> None:
        self._phase = "replay"
        self._snapshot = None
        self._step_scheduled = False
        self._request_poll()

    def _guarded(self, step: Callable[[], None]) -> None:
        """Retryable trouble (RPC down or rate limited, consumer restarting) backs off;
        anything else propagates and fails the actor."""
        try:
            step()
        except RpcError as exc:
            if not exc.retryable:
                raise
            self._backoff.failed(exc.kind, str(exc), getattr(exc, "retry_after", None))
        except ConsumerDown as exc:
            self._backoff.failed("consumer_down", str(exc))
        else:
            self._backoff.succeeded()

    def _work(self) -> None:
        if self._phase == "replay":
            self._replay()
        if self._phase == "snapshot":
            self._snapshot_step()
        elif self._phase == "steady":
            self._poll_chain()

    @property
    def store(self) -> SyncStore:
        assert self._store is not None, "started() runs first"
        return self._store

    def _tell(self, messages: Iterable[PollerEvent]) -> None:
        try:
            for message in messages:
                self.ctx.directory.tell(self._consumer, message)
        except ActorUnavailable as exc:
            raise ConsumerDown(f"consumer {self._consumer!r} is not running") from exc

    def _sync_report(self) -> SyncReport:
        state = self.store.state()
        cursor = state.cursor.number if state.cursor else None
        lag = None
        if self._head is not None and cursor is not None:
            lag = max(self._head - self._trail, 0) - cursor
        return SyncReport(cursor_block=cursor, head=self._head, highest_id=state.highest_id,
                          tracked=self.store.count(), lag=lag,
                          snapshot_done=self._phase == "steady",
                          failing_reads=self._backoff.failures)

    # --- replay from the store ----------------------------------------------------

    def _replay(self) -> None:
        state = self.store.state()
        at = state.cursor or (state.snapshot.at if state.snapshot else None)
        replayed = 0
        if at is not None:
            for batch in self.store.subscriptions(self._batch_size):
                self._tell([SubscriptionsSeen(tuple(batch), at.number, at.time, snapshot=True)])
                replayed += len(batch)
        if state.cursor is None:
            self._phase = "snapshot"
            return
        self._tell([SnapshotDone(state.highest_id, state.cursor.number)])
        log.info("subscriptions replayed from the store",
                 extra={"cursor": state.cursor.number, "highest_id": state.highest_id,
                        "count": replayed})
        self._phase = "steady"

    # --- startup sync ---------------------------------------------------------------

    def _snapshot_step(self) -> None:
        if self._snapshot is None:
            self._snapshot = self._begin_snapshot()
        snap = self._snapshot
        if snap.next_id < snap.end:
            stop = min(snap.next_id + self._batch_size, snap.end)
            subs = self._chain.subscriptions(snap.next_id, stop, snap.read_at.number)
            self._tell([SubscriptionsSeen(tuple(subs), snap.read_at.number, snap.read_at.time,
                                          snapshot=True)])
            self.store.save_snapshot_batch(subs, snap.read_at.number, stop)
            snap.next_id = stop
            if snap.progress is not None:
                snap.progress.update(stop - snap.start)
            if stop < snap.end:
                self._step_scheduled = True
                self._later(self._batch_sleep, _SnapshotStep(snap.run))
                return
        self._finish_snapshot(snap)

    def _begin_snapshot(self) -> _Snapshot:
        head = self._rpc.block_number()
        self._head = head
        block = self._header(max(head - self._trail, 0))
        read_at = BlockRef(block.number, block.hash, block.timestamp)
        end = self._chain.next_id(read_at.number)
        progress = self.store.state().snapshot
        if progress is None:
            # Ids start at 1; the sync covers ids greater than starting_sub_id.
            progress = SnapshotProgress(read_at, self._starting_sub_id + 1)
            self.store.begin_snapshot(read_at, progress.next_id)
        self._snapshot_runs += 1
        log.info("snapshot sync started",
                 extra={"block": read_at.number, "from_id": progress.next_id,
                        "highest_id": end - 1})
        # A resumed sync keeps its first block as the cursor's start, so the logs
        # since then are replayed over the ids it read earlier.
        display = (CountProgress("snapshot sync", end - progress.next_id)
                   if end > progress.next_id else None)
        return _Snapshot(first=progress.at, read_at=read_at, next_id=progress.next_id,
                         end=end, run=self._snapshot_runs, start=progress.next_id,
                         progress=display)

    def _finish_snapshot(self, snap: _Snapshot) -> None:
        highest = snap.end - 1
        self._tell([SnapshotDone(highest, snap.first.number),
                    ChainHead(snap.first.number, snap.first.time, synced=False)])
        self.store.finish_snapshot(snap.first, highest)
        log.info("snapshot sync done",
                 extra={"block": snap.first.number, "highest_id": highest,
                        "tracked": self.store.count()})
        self._snapshot = None
        self._phase = "steady"

    # --- steady state -------------------------------------------------------------

    def _poll_chain(self) -> None:
        cursor = self.store.state().cursor
        assert cursor is not None
        # One call gives what eth_blockNumber plus a header fetch would (with no trailing
        # blocks, the header of the block to process), and the base fee for the wallet.
        latest = self._header("latest")
        head = latest.number
        self._head = head
        self._base_fee = latest.base_fee
        trailing = max(head - self._trail, 0)
        if trailing >= cursor.number:
            self._lagging = False
        if trailing == cursor.number:
            if trailing == head and latest.hash != cursor.hash:
                self._rewind()  # replaced by a block at the same height
                return
            self._heartbeat(cursor.number)
            return
        if trailing < cursor.number:
            self._behind(trailing)
            return
        target = min(trailing, cursor.number + MAX_LOG_RANGE)
        header = latest if latest.number == target else self._header(target)
        if target == cursor.number + 1:
            moved = header.parent_hash != cursor.hash
            events = None if moved else self._chain.events(cursor.number + 1, target)
        elif self._logged_block == (cursor.number, cursor.hash.lower()):
            # The cursor block had logs: reading them again with the range shows whether it
            # is still on the chain the range comes from, with no header fetch.
            events = self._chain.events(cursor.number, target)
            again = [e for e in events if e.block == cursor.number]
            moved = not again or any(e.block_hash != cursor.hash.lower() for e in again)
            events = [e for e in events if e.block != cursor.number]
        else:
            moved = self._header(cursor.number).hash != cursor.hash
            events = None if moved else self._chain.events(cursor.number + 1, target)
        if moved or events is None:
            self._rewind()
            return
        if any(e.block == target and e.block_hash != header.hash.lower() for e in events):
            log.info("logs came from another fork; reading again", extra={"block": target})
            return
        self._apply(cursor.number + 1, BlockRef(target, header.hash, header.timestamp), events,
                    synced=target == trailing)
        self._logged_block = (target, header.hash.lower()) \
            if any(e.block == target for e in events) else None
        if target < trailing:
            self._request_poll()

    def _behind(self, trailing: int) -> None:
        """The chain is below the cursor: a reorg to a shorter chain (or a chain reset),
        or an RPC node lagging behind. The newest stored block at or below the chain's
        trailing head tells which."""
        known = next((ref for ref in self.store.window() if ref.number <= trailing), None)
        if known is not None and self._header(known.number).hash == known.hash:
            if not self._lagging:
                log.warning("chain head is behind the sync cursor; waiting",
                            extra={"trailing": trailing, "block": known.number})
                self._lagging = True
            return
        self._rewind()

    def _apply(self, first: int, at: BlockRef, events: list[SubscriptionEvent], *,
               synced: bool) -> None:
        """Tells what blocks ``first``..``at`` brought."""
        state = self.store.state()
        created = [e.sub_id for e in events if e.kind == "created"]
        seen: list[Subscription] = []
        if created:
            seen = self._read_range(min(created), max(created) + 1, at.number)
        highest = max([state.highest_id, *created])
        times = {at.number: at.time}
        messages: list[PollerEvent] = []
        if seen:
            messages.append(SubscriptionsSeen(tuple(seen), at.number, at.time, snapshot=False,
                                              created=True))
        cancelled = []
        for event in events:
            if event.kind == "cancelled":
                cancelled.append(event.sub_id)
                messages.append(SubscriptionCancelled(event.sub_id, event.block))
            elif event.kind == "fulfilled":
                when = self._block_time(event, times)
                messages.append(IntervalFulfilled(event.sub_id, event.node, event.block, when))
        messages.append(ChainHead(at.number, at.time, synced=synced))
        self._tell(messages)
        self.store.advance(at, highest, seen=seen, cancelled=cancelled,
                           fulfilled=[(e.sub_id, e.block) for e in events
                                      if e.kind == "fulfilled"],
                           keep_blocks=self._keep_blocks)
        self._tell_listener(
            logs=(first, at.number),
            logged=tuple(dict.fromkeys((e.tx_hash, e.block) for e in events)))
        if created or cancelled:
            log.info("subscriptions changed",
                     extra={"block": at.number, "new": len(created),
                            "cancelled": len(cancelled)})

    def _heartbeat(self, cursor: int) -> None:
        """The listener hears from us at least every HEARTBEAT_EVERY seconds while polls
        succeed; silence tells it to look at the chain itself."""
        told = self._told_head_at
        if told is None or self._clock() - told >= HEARTBEAT_EVERY:
            self._tell_listener(logs=(cursor + 1, cursor))

    def _tell_listener(self, *, logs: tuple[int, int],
                       logged: tuple[tuple[str, int], ...] = ()) -> None:
        if self._listener is None or self._head is None:
            return
        message = HeadSeen(head=self._head, base_fee=self._base_fee,
                           log_source=self._chain.coordinator.address, logs=logs,
                           logged=logged, heartbeat=max(HEARTBEAT_EVERY, self._sync_period))
        try:
            self.ctx.directory.tell(self._listener, message)
        except ActorUnavailable:
            return  # restarting: it looks at the chain itself until we are heard again
        self._told_head_at = self._clock()

    def _header(self, number: int | Literal["latest"]) -> Block:
        """A block at or below the head we saw. A load-balanced RPC may answer from a
        node that is a block behind (null): that is a reason to retry, not to fail."""
        try:
            return self._rpc.block(number)
        except RpcError as exc:
            if exc.kind != "invalid":
                raise
            raise RpcError("unavailable", f"block {number} not available: {exc.message}",
                           method="eth_getBlockByNumber") from exc

    def _block_time(self, event: SubscriptionEvent, times: dict[int, int]) -> int:
        if event.timestamp is not None:
            return event.timestamp
        if event.block not in times:
            times[event.block] = self._header(event.block).timestamp
        return times[event.block]

    def _read_range(self, start: int, end: int, block: int) -> list[Subscription]:
        subs: list[Subscription] = []
        for lo in range(start, end, self._batch_size):
            subs += self._chain.subscriptions(lo, min(lo + self._batch_size, end), block)
        return subs

    # --- reorgs ---------------------------------------------------------------------

    def _rewind(self) -> None:
        self._logged_block = None
        ancestor = self._common_ancestor()
        if ancestor is None:
            log.warning("reorg deeper than the stored block window; syncing afresh",
                        extra={"window": self._keep_blocks})
            self._tell([Rewound(0)])
            self.store.reset()
            self._phase = "snapshot"
            self._snapshot = None
            return
        dirty = self.store.seen_after(ancestor.number)
        reread: list[Subscription] = []
        if dirty:
            wanted = set(dirty)
            reread = [s for s in self._read_range(dirty[0], dirty[-1] + 1, ancestor.number)
                      if s.id in wanted]
        highest = self._chain.next_id(ancestor.number) - 1
        messages: list[PollerEvent] = [Rewound(ancestor.number)]
        if reread:
            messages.append(SubscriptionsSeen(tuple(reread), ancestor.number, ancestor.time,
                                              snapshot=False))
        self._tell(messages)
        self.store.rewind(ancestor, highest, reread=reread, reread_block=ancestor.number)
        log.warning("chain reorganised; rewound to the common ancestor",
                    extra={"block": ancestor.number, "reread": len(reread)})
        self._request_poll()

    def _common_ancestor(self) -> BlockRef | None:
        for ref in self.store.window():
            if self._head is not None and ref.number > self._head:
                continue
            if self._header(ref.number).hash == ref.hash:
                return ref
        return None
