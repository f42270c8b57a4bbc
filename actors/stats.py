"""The stats reporter: samples host figures and forwards node snapshots.

It asks no actor. Node figures come from the board, where the other actors
publish them; restarts per actor come from the supervisor's ``ChildRestarted``
events (the reporter must be in the supervisor's ``notify`` names). A ticker
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
from actors.supervisor import ChildSpec
from node import __version__
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
        sample: Callable[[str], SystemFigures] = sample_system,
        post: Post = post_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ctx)
        self._board = board
        self._settings = settings
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
        due = now - self._last_forward >= self._settings.forward_period
        if self._forwarder is not None and due:
            self._last_forward = now
            self._forwarder.submit(self._snapshot(now))

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
    sample: Callable[[str], SystemFigures] = sample_system,
    post: Post = post_json,
    clock: Callable[[], float] = time.time,
) -> ChildSpec:
    """The reporter as a supervised child (restart: permanent)."""
    settings = reporter_settings(config, node_id, clock())

    def start(ctx: ChildContext) -> pykka.ActorRef[Any]:
        return StatsReporterActor.start(ctx, board=board, settings=settings, sample=sample,
                                        post=post, clock=clock)

    return ChildSpec(name, start)
