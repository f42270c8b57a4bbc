from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pykka

from actors.base import ChildContext, Ping
from actors.board import Board
from actors.directory import Directory
from actors.stats import STATS, Probe, chain_probes, reporter_settings, stats_child_spec
from node.chain.poller_messages import SyncReport, SyncStatus
from node.chain.wallet_messages import WalletState, WalletStatus
from node.config.schema import Chain, Config, Stats
from node.messages import ChildFailed, ChildRestarted
from node.stats.figures import SystemFigures
from tests.unit.stats.sink import closed_port_url, http_sink

SYSTEM = SystemFigures(cpu_count=2, cpu_percent=50.0, memory_used_bytes=1, memory_total_bytes=2,
                       disk_path="/d", disk_used_bytes=3, disk_total_bytes=4)


class CountingSample:
    """A stand-in for psutil sampling that counts calls and lets a test wait for them."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.cond = threading.Condition()

    def __call__(self, data_dir: str) -> SystemFigures:
        with self.cond:
            self.calls += 1
            self.cond.notify_all()
        if self.fail:
            raise OSError("no /proc here")
        return SYSTEM

    def wait_calls(self, n: int, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.calls >= n, timeout)


def config(endpoint: str | None, *, forward: bool = True, interval: float = 0.05,
           chain: bool = False) -> Config:
    return Config(forward_stats=forward, chain=Chain(enabled=chain),
                  stats=Stats(endpoint=endpoint, interval=interval, batch_size=5,
                              buffer_size=50))


@contextmanager
def reporter(board: Board, cfg: Config, sample: CountingSample, generation: int = 0, *,
             directory: Directory | None = None, probes: tuple[Probe, ...] = ()
             ) -> Iterator[tuple[pykka.ActorRef[Any], list[ChildFailed]]]:
    failures: list[ChildFailed] = []
    spec = stats_child_spec(board, cfg, node_id="n1", sample=sample, probes=probes)
    assert spec.name == STATS
    ref = spec.factory(ChildContext(STATS, generation, directory or Directory(),
                                    failures.append))
    try:
        assert ref.ask(Ping(), timeout=5)
        yield ref, failures
    finally:
        ref.stop(timeout=10)


def test_forwards_board_snapshots_with_host_figures():
    board = Board()
    board.jobs_succeeded = 3
    board.container("echo").succeeded = 3
    sample = CountingSample()
    with http_sink() as sink, reporter(board, config(sink.url), sample) as (_, failures):
        assert sink.wait_for(lambda s: len(s.snapshots()) >= 2)
        assert failures == []
    first = sink.snapshots()[0]
    assert sink.bodies[0]["node_id"] == "n1"
    assert first["jobs"]["succeeded"] == 3
    assert first["containers"][0]["name"] == "echo"
    assert first["system"]["cpu_percent"] == 50.0
    assert first["chain"] is None
    assert board.system_figures == SYSTEM


def test_without_forward_stats_nothing_is_sent_but_host_figures_are_kept():
    board = Board()
    sample = CountingSample()
    with http_sink() as sink, reporter(board, config(sink.url, forward=False), sample):
        assert sample.wait_calls(3)
        assert board.system_figures == SYSTEM
    assert sink.bodies == [] and sink.failures == 0


def test_forwarding_needs_an_endpoint_and_a_valid_one(caplog):
    assert reporter_settings(config(None), "n1", 0.0).endpoint is None
    assert reporter_settings(config("http://127.0.0.1:9/x", forward=False), "n1",
                             0.0).endpoint is None
    assert reporter_settings(config("http://127.0.0.1:9/x"), "n1", 0.0).endpoint is not None
    with caplog.at_level(logging.ERROR, logger="actors.stats"):
        assert reporter_settings(config("udp://collector:24224"), "n1", 0.0).endpoint is None
    [record] = caplog.records
    assert record.field == "stats.endpoint"  # type: ignore[attr-defined]


def test_host_figures_are_sampled_at_least_every_15_seconds():
    settings = reporter_settings(config(None, interval=3600.0), "n1", 0.0)
    assert settings.sample_period == 15.0 and settings.forward_period == 3600.0


def test_restarts_per_actor_come_from_supervisor_events():
    board = Board()
    sample = CountingSample()
    with reporter(board, config(None), sample, generation=2) as (ref, _):
        ref.tell(ChildRestarted(name="executor:echo", generation=4, restarts=4))
        ref.tell(ChildRestarted(name="router", generation=1, restarts=1))
        assert ref.ask(Ping(), timeout=5)
    assert board.actor_restarts == {STATS: 2, "executor:echo": 4, "router": 1}


def test_a_failing_sample_is_a_warning_not_a_crash(caplog):
    caplog.set_level(logging.WARNING, logger="actors.stats")
    board = Board()
    sample = CountingSample(fail=True)
    with reporter(board, config(None), sample) as (ref, failures):
        assert sample.wait_calls(3)
        assert ref.ask(Ping(), timeout=5) and failures == []
    assert board.system_figures is None
    assert any("system figures unavailable" in r.getMessage() for r in caplog.records)


def test_an_unreachable_endpoint_costs_the_actor_nothing(caplog):
    caplog.set_level(logging.WARNING, logger="node.stats.forwarder")
    board = Board()
    sample = CountingSample()
    with reporter(board, config(closed_port_url(), interval=0.02), sample) as (ref, failures):
        assert sample.wait_calls(10)
        assert ref.ask(Ping(), timeout=1)
        assert failures == []
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1


class StatusActor(pykka.ThreadingActor):
    """Answers any question with ``answer``, once ``release`` is set if one is given."""

    def __init__(self, answer: Any, release: threading.Event | None = None) -> None:
        super().__init__()
        self.answer = answer
        self.release = release

    def on_receive(self, message: Any) -> Any:
        if self.release is not None:
            self.release.wait(30)
        return self.answer


class CountingDirectory(Directory):
    def __init__(self) -> None:
        super().__init__()
        self.lookups: dict[str, int] = {}

    def get(self, name: str) -> pykka.ActorRef[Any]:
        self.lookups[name] = self.lookups.get(name, 0) + 1
        return super().get(name)


def test_chain_figures_come_from_status_asks_without_waiting():
    sync = SyncReport(cursor_block=95, head=100, highest_id=3, tracked=3, lag=4)
    wallet = WalletState(address="0x" + "ab" * 20, next_nonce=7, in_flight=0, balance=10**18)
    release = threading.Event()
    directory = CountingDirectory()
    poller_ref = StatusActor.start(sync)
    wallet_ref = StatusActor.start(wallet, release)  # a wallet stuck in a slow RPC call
    [poller_probe, wallet_probe] = chain_probes(wallet_every=0.0)
    assert isinstance(poller_probe.question, SyncStatus)
    assert isinstance(wallet_probe.question, WalletStatus)
    directory.register(poller_probe.actor, poller_ref)
    directory.register(wallet_probe.actor, wallet_ref)
    board = Board()
    sample = CountingSample()
    try:
        with reporter(board, config(None, chain=True, interval=0.02), sample,
                      directory=directory, probes=(poller_probe, wallet_probe)) as (ref, _):
            assert sample.wait_calls(5)
            assert board.chain_head_block == 100 and board.chain_sync_lag_blocks == 4
            assert ref.ask(Ping(), timeout=1)  # the reporter is not waiting on the wallet
            assert board.wallet_nonce is None
            assert directory.lookups[wallet_probe.actor] == 1  # no second question queued
            assert directory.lookups[poller_probe.actor] >= 2  # answered, so asked again
            release.set()
            assert sample.wait_calls(sample.calls + 3)
            assert board.wallet_nonce == 7 and board.wallet_balance_wei == 10**18
    finally:
        release.set()
        poller_ref.stop()
        wallet_ref.stop()


def test_a_probed_actor_that_is_not_running_is_skipped():
    board = Board()
    sample = CountingSample()
    probes = (Probe("chain-poller", SyncStatus(), lambda b, a: None),)
    with reporter(board, config(None, chain=True), sample, probes=probes) as (ref, failures):
        assert sample.wait_calls(3)
        assert ref.ask(Ping(), timeout=1) and failures == []
    assert board.chain_head_block is None
