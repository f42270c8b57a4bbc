"""The stats reporter: samples host figures and forwards node snapshots.

It never waits on another actor. Node figures come from the board, where the
other actors publish them; restarts per actor come from the supervisor's
``ChildRestarted`` events (the reporter must be in the supervisor's ``notify``
names). Figures only another actor knows (chain head and lag from the poller,
balance and nonce from the wallet) come through ``Probe``s: an ask sent without
blocking, whose answer is read on a later tick and written to the board; a
probe is not asked again while its answer is outstanding. A ticker
thread of its own tells it ``Tick``, at most one outstanding at a time, so a
slow ``nvidia-smi`` delays only the reporter. Snapshots go to a
``StatsForwarder`` whose thread does the HTTP, so an unreachable endpoint costs
a warning and a bounded buffer, nothing else. GET /metrics does not go through
this actor at all: it reads the board at scrape time (``board_metrics``); this
actor keeps the board's host figures fresh for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka

from actors.base import ChildContext, SupervisedActor
from actors.board import Board
from actors.directory import ActorUnavailable
from actors.supervisor import ChildSpec
from node import __version__
from node.chain.poller_messages import SyncReport, SyncStatus
from node.chain.wallet_messages import WalletState, WalletStatus
from node.config.schema import Config
from node.messages import ChildRestarted
from node.stats.figures import StatsSnapshot, SystemFigures
from node.stats.forwarder import ForwardPolicy, Post, StatsForwarder, check_endpoint, post_json
from node.stats.snapshot import snapshot_from_board
from node.stats.system import sample_system

log = logging.getLogger(__name__)

STATS = "stats"
MAX_SAMPLE_PERIOD = 15.0  # host figures on /metrics are at most this old


class Tick:
    """Ticker -> reporter: time to sample (and maybe forward)."""


@dataclass(frozen=True)
class Probe:
    """Figures another actor answers to ``question``, written to the board by ``record``."""

    actor: str
    question: Any
    record: Callable[[Board, Any], None]
    every: float = 0.0  # at least this many seconds between two asks


def _record_sync(board: Board, report: SyncReport) -> None:
    board.chain_head_block = report.head
    board.chain_sync_lag_blocks = report.lag


def _record_wallet(board: Board, state: WalletState) -> None:
    board.wallet_nonce = state.next_nonce
    board.wallet_balance_wei = state.balance


def chain_probes(*, wallet_every: float = 60.0) -> tuple[Probe, ...]:
    """The poller's ``SyncStatus`` and the wallet's ``WalletStatus`` (an RPC call in the
    wallet's thread, hence asked at most every ``wallet_every`` seconds)."""
    # Imported here: the chain actors' modules load web3 and eth_account.
    from actors.chain_scheduler import POLLER, WALLET

    return (Probe(POLLER, SyncStatus(), _record_sync),
            Probe(WALLET, WalletStatus(), _record_wallet, every=wallet_every))


@dataclass(frozen=True)
class ReporterSettings:
    node_id: str
    data_dir: str
    chain_enabled: bool
    sample_period: float
    forward_period: float
    endpoint: str | None  # None: no forwarding
    policy: ForwardPolicy
    started_at: float  # unix seconds, for uptime


def reporter_settings(config: Config, node_id: str, started_at: float) -> ReporterSettings:
    """Forwarding needs both ``forward_stats`` and ``stats.endpoint``; a bad endpoint is
    logged (naming the field) and disables forwarding instead of stopping the node."""
    stats = config.stats
    endpoint = stats.endpoint if config.forward_stats else None
    if config.forward_stats and endpoint is None:
        # Files written for the original node set forward_stats; it had a fixed destination.
        log.info("stats forwarding off: forward_stats is set but stats.endpoint is not",
                 extra={"field": "stats.endpoint"})
    if endpoint is not None:
        reason = check_endpoint(endpoint)
        if reason is not None:
            log.error("stats forwarding disabled", extra={"field": "stats.endpoint",
                                                          "reason": reason})
            endpoint = None
    return ReporterSettings(
        node_id=node_id, data_dir=config.store.data_dir, chain_enabled=config.chain.enabled,
        sample_period=min(stats.interval, MAX_SAMPLE_PERIOD), forward_period=stats.interval,
        endpoint=endpoint,
        policy=ForwardPolicy(batch_size=stats.batch_size, buffer_size=stats.buffer_size),
        started_at=started_at,
    )


class _Ticker:
    def __init__(self, ref: pykka.ActorRef[Any], period: float) -> None:
        self._ref = ref
        self._period = period
        self._stop = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self._thread = threading.Thread(target=self._run, name="stats-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # not joined: the thread ends within one period on its own

    def _run(self) -> None:
        while True:
            if self.idle.is_set():
                self.idle.clear()
                try:
                    self._ref.tell(Tick())
                except pykka.ActorDeadError:
                    return
            if self._stop.wait(self._period):
                return


class StatsReporterActor(SupervisedActor):
    def __init__(
        self,
        ctx: ChildContext,
        *,
        board: Board,
        settings: ReporterSettings,
        probes: tuple[Probe, ...] = (),
        sample: Callable[[str], SystemFigures] = sample_system,
        post: Post = post_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ctx)
        self._board = board
        self._settings = settings
        self._probes = probes
        self._pending: dict[str, pykka.Future[Any]] = {}
        self._asked_at: dict[str, float] = {}
        self._sample = sample
        self._post = post
        self._clock = clock
        self._ticker: _Ticker | None = None
        self._forwarder: StatsForwarder | None = None
        self._last_forward = float("-inf")

    def started(self) -> None:
        self._board.actor_restarts[self.ctx.name] = self.ctx.generation
        s = self._settings
        if s.endpoint is not None:
            self._forwarder = StatsForwarder(s.endpoint, s.node_id, s.policy, post=self._post)
        self._ticker = _Ticker(self.actor_ref, s.sample_period)
        self._ticker.start()

    def handle(self, message: Any) -> Any:
        if isinstance(message, Tick):
            self._tick()
        elif isinstance(message, ChildRestarted):
            self._board.actor_restarts[message.name] = message.restarts
        else:
            raise TypeError(f"stats reporter cannot handle {type(message).__name__}")
        return None

    def _tick(self) -> None:
        try:
            self._board.system_figures = self._sample(self._settings.data_dir)
        except Exception as exc:  # host figures are optional: a failed sample is not a crash
            log.warning("system figures unavailable", extra={"error": f"{type(exc).__name__}: "
                                                                       f"{exc}"})
        finally:
            if self._ticker is not None:
                self._ticker.idle.set()
        now = self._clock()
        for probe in self._probes:
            self._probe(probe, now)
        due = now - self._last_forward >= self._settings.forward_period
        if self._forwarder is not None and due:
            self._last_forward = now
            self._forwarder.submit(self._snapshot(now))

    def _probe(self, probe: Probe, now: float) -> None:
        pending = self._pending.get(probe.actor)
        if pending is not None:
            try:
                answer = pending.get(timeout=0)
            except pykka.Timeout:
                return  # still busy: no second question on top of the first
            except Exception as exc:  # that actor failed or was replaced meanwhile
                log.debug("stats probe unanswered", extra={"actor": probe.actor,
                                                           "error": type(exc).__name__})
            else:
                probe.record(self._board, answer)
            del self._pending[probe.actor]
        if now - self._asked_at.get(probe.actor, float("-inf")) < probe.every:
            return
        try:
            self._pending[probe.actor] = self.ctx.directory.get(probe.actor).ask(
                probe.question, block=False)
        except (ActorUnavailable, pykka.ActorDeadError):
            return  # restarting: ask again next tick
        self._asked_at[probe.actor] = now

    def _snapshot(self, now: float) -> StatsSnapshot:
        s = self._settings
        return snapshot_from_board(self._board, node_id=s.node_id, version=__version__,
                                   chain_enabled=s.chain_enabled, started_at=s.started_at,
                                   now=now)

    def stopping(self) -> None:
        self._release()

    def failed(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        if self._forwarder is not None:
            self._forwarder.close(timeout=self._settings.policy.timeout + 1.0)
            self._forwarder = None


def stats_child_spec(
    board: Board,
    config: Config,
    *,
    node_id: str,
    name: str = STATS,
    probes: tuple[Probe, ...] = (),
    sample: Callable[[str], SystemFigures] = sample_system,
    post: Post = post_json,
    clock: Callable[[], float] = time.time,
) -> ChildSpec:
    """The reporter as a supervised child (restart: permanent). ``probes``: see
    ``chain_probes``; leave empty when the chain is disabled."""
    settings = reporter_settings(config, node_id, clock())

    def start(ctx: ChildContext) -> pykka.ActorRef[Any]:
        return StatsReporterActor.start(ctx, board=board, settings=settings, probes=probes,
                                        sample=sample, post=post, clock=clock)

    return ChildSpec(name, start)
