"""The wallet's ticker: the thread that follows the chain for the wallet actor.

Split from ``actors.wallet`` so the actor keeps only its state machine (submit,
simulate, sign, send, settle, notify, prune) and this module holds what runs on the
ticker thread: which lookups a tick needs, the RPC reads themselves, and the
messages carrying what was seen back to the actor. It does RPC and tells an actor,
so it lives with the actors, not in ``node/``.

The actor and the ticker share no lock: the actor publishes what to watch and what
the poller told, each replaced whole, and the ticker only reads them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pykka

from node.chain.rpc_types import Receipt, Rpc, RpcError

log = logging.getLogger(__name__)

MAX_BACKOFF = 5.0
# No HeadSeen for this long (or three of the poller's heartbeat periods, if longer):
# poll the head ourselves.
FEED_SILENCE = 3.0

# How a sent transaction is followed: wait for the poller's logs to show it; read the
# nonce as of the last block they cover (then the receipt if that used it); or read the
# latest nonce (then the receipt) like a wallet with no poller.
WatchMode = Literal["logs", "covered", "latest"]


@dataclass(frozen=True)
class Prune:
    """Ticker -> actor: time to prune decided transactions."""


@dataclass(frozen=True)
class Observed:
    """What the ticker saw: ``confirmed`` (the nonce count) and receipts only on a new
    head; on other ticks just the head, so retries run. ``checked``: the nonces whose
    receipts were looked for (None: every watched one)."""

    head: int
    confirmed: int | None
    receipts: dict[str, Receipt]
    checked: frozenset[int] | None = None
    # Nothing new to look up until this changes: the head, and when following the
    # poller, the logs' coverage and what is to be looked up how.
    point: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Watch:
    nonce: int
    hashes: tuple[str, ...]  # oldest first
    mode: WatchMode = "latest"


@dataclass(frozen=True)
class Feed:
    """What the poller told last (replaced whole, read by the ticker thread)."""

    head: int
    at: float  # monotonic time it was told
    base_fee: int | None
    silence: float = FEED_SILENCE  # no HeadSeen for this long: the poller is not there

    def fresh(self, now: float) -> bool:
        return now - self.at < self.silence


def watch_mode(*, to: str, first_sent_at: int | None, sent_at: int | None,
               sent_time: float | None, coverage: tuple[int, int] | None,
               log_source: str | None, patience: float) -> WatchMode:
    """The poller's logs show a delivery that succeeded: until they cover the block
    after the one we knew when sending, nothing is looked up; then the nonce as of
    their last block tells whether it was mined by then without logs (reverted).
    Logs held back by trailing blocks on a chain that stopped making blocks would
    never come: after ``patience`` seconds, the latest nonce."""
    if coverage is None:
        return "latest"
    if sent_time is not None and time.monotonic() - sent_time > patience:
        return "latest"
    if first_sent_at is None or sent_at is None or to.lower() != log_source \
            or first_sent_at + 1 < coverage[0]:  # mined, maybe, in logs never seen
        return "covered"
    return "logs" if coverage[1] <= sent_at else "covered"


class ChainWatch:
    """The wallet's ticker thread: on every head the poller tells, and every poll
    interval for retries, looks up what the watched transactions need and tells the
    actor an ``Observed``; tells it ``Prune`` every ``prune_every`` seconds (None:
    never)."""

    def __init__(self, rpc: Rpc, address: str, *, poll_interval: float,
                 prune_every: float | None) -> None:
        self._rpc = rpc
        self._address = address
        self._poll_interval = poll_interval
        self._prune_every = prune_every
        self._halt = threading.Event()
        self._wake = threading.Event()
        # Written by the actor, read by the ticker thread; replaced whole, never mutated.
        self._watch: tuple[tuple[Watch, ...], tuple[int, int] | None] = ((), None)
        self._active = False
        self._feed: Feed | None = None

    # --- actor side -------------------------------------------------------------

    def publish(self, watches: tuple[Watch, ...], coverage: tuple[int, int] | None,
                *, active: bool) -> None:
        """What to watch, with the coverage it was judged by (the ticker must not pair
        it with a newer one); ``active``: whether ticks have anything to do."""
        self._watch = (watches, coverage)
        self._active = active

    def fed(self, head: int, base_fee: int | None, heartbeat: float) -> None:
        """The poller told a head: look now. Call after ``publish``: the ticker reads
        the feed, then the watch list."""
        self._feed = Feed(head, time.monotonic(), base_fee, max(FEED_SILENCE, 3 * heartbeat))
        self._wake.set()

    def fed_head(self) -> int | None:
        """The head the poller told, unless it has been silent too long."""
        feed = self._fresh_feed()
        return None if feed is None else feed.head

    def fed_base_fee(self) -> int | None:
        """The base fee of the head the poller told, unless it has been silent too long."""
        feed = self._fresh_feed()
        return None if feed is None else feed.base_fee

    def _fresh_feed(self) -> Feed | None:
        feed = self._feed
        if feed is None or not feed.fresh(time.monotonic()):
            return None
        return feed

    def start(self, actor: pykka.ActorRef[Any]) -> None:
        threading.Thread(target=self._tick_loop, args=(actor,), name="wallet-ticker",
                         daemon=True).start()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    # --- ticker thread ------------------------------------------------------------

    def _tick_loop(self, me: pykka.ActorRef[Any]) -> None:
        last: tuple[Any, ...] = ()
        delay = self._poll_interval
        not_before = 0.0
        prune_at = time.monotonic()  # the first run soon after a start, then now and then
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            if self._halt.is_set():
                return
            if self._prune_every is not None and time.monotonic() >= prune_at:
                prune_at = time.monotonic() + self._prune_every
                try:
                    me.tell(Prune())
                except pykka.ActorDeadError:
                    return
            if not self._active or time.monotonic() < not_before:
                continue
            try:
                seen = self.look(last)
            except RpcError as exc:
                backoff = max(min(max(delay, self._poll_interval) * 2, MAX_BACKOFF),
                              getattr(exc, "retry_after", None) or 0)
                not_before = time.monotonic() + backoff
                delay = backoff
                log.warning("chain poll failed; backing off",
                            extra={"error": str(exc), "delay": backoff})
                continue
            delay = self._poll_interval
            last = seen.point
            try:
                me.tell(seen)
            except pykka.ActorDeadError:
                return

    def look(self, last: tuple[Any, ...]) -> Observed:
        """One tick's lookups; ``last``: the point of the previous tick's."""
        fed = self.fed_head()
        head = self._rpc.block_number() if fed is None else fed
        watched, covered = self._watch
        if fed is None or covered is None:
            # No poller to go by: the latest nonce on each new head, as ever.
            if (head,) == last:
                return Observed(head, None, {}, point=last)
            confirmed = self._rpc.nonce(self._address, "latest")
            return Observed(head, confirmed,
                            self._receipts([w for w in watched if w.nonce < confirmed]),
                            point=(head,))
        watches = tuple(w for w in watched if w.mode != "logs")
        point = (head, covered[1], tuple((w.nonce, w.mode) for w in watches))
        if point == last or not watches:
            return Observed(head, None, {}, point=point)
        # A transaction of ours mined by the last block the logs cover and not in them
        # reverted (or logs nothing); one mined later is left to the logs still to come.
        latest = any(w.mode == "latest" for w in watches)
        confirmed = self._rpc.nonce(self._address, "latest" if latest else covered[1])
        return Observed(head, confirmed,
                        self._receipts([w for w in watches if w.nonce < confirmed]),
                        frozenset(w.nonce for w in watches), point)

    def _receipts(self, watches: Iterable[Watch]) -> dict[str, Receipt]:
        """The receipt of each watched nonce's newest mined attempt."""
        receipts: dict[str, Receipt] = {}
        for watch in watches:
            for tx_hash in reversed(watch.hashes):
                receipt = self._rpc.receipt(tx_hash)
                if receipt is not None:
                    receipts[tx_hash] = receipt
                    break
        return receipts
