"""Prometheus exposition of a ``StatsSnapshot``, built at scrape time.

A custom collector in a registry of its own (plus the standard ``process_*``
figures): the node never touches prometheus_client's global registry, so two
nodes in one test process do not collide. Labels name containers, actors,
outcomes and GPUs, never jobs: a label per job id would grow without bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from node.stats.figures import ChainFigures, StatsSnapshot, SystemFigures

SnapshotSource = Callable[[], StatsSnapshot | None]


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _node_metrics(s: StatsSnapshot) -> Iterator[Metric]:
    yield InfoMetricFamily("infernet_node", "This node", value={"version": s.version,
                                                                 "node_id": s.node_id})
    jobs = CounterMetricFamily("infernet_jobs_total", "Jobs finished, by final status",
                               labels=["status"])
    jobs.add_metric(["success"], s.jobs.succeeded)
    jobs.add_metric(["failed"], s.jobs.failed)
    yield jobs
    running = GaugeMetricFamily("infernet_jobs_running", "Jobs in progress", labels=["kind"])
    running.add_metric(["offchain"], s.jobs.running_offchain)
    running.add_metric(["onchain"], s.jobs.running_onchain)
    yield running
    restarts = CounterMetricFamily("infernet_actor_restarts_total",
                                   "Times the supervisor replaced an actor", labels=["actor"])
    for actor, count in sorted(s.actor_restarts.items()):
        restarts.add_metric([actor], count)
    yield restarts


def _container_metrics(s: StatsSnapshot) -> Iterator[Metric]:
    label = ["container"]
    calls = CounterMetricFamily("infernet_container_calls_total",
                                "Container calls finished, by outcome",
                                labels=["container", "outcome"])
    seconds = CounterMetricFamily("infernet_container_call_seconds_total",
                                  "Time spent in finished container calls", labels=label)
    in_flight = GaugeMetricFamily("infernet_container_in_flight",
                                  "Steps sent to a container and not finished (queued or running)",
                                  labels=label)
    up = GaugeMetricFamily("infernet_container_up", "1 when the container takes work",
                           labels=label)
    restarts = CounterMetricFamily("infernet_container_restarts_total",
                                   "Times a managed container was restarted after dying",
                                   labels=label)
    for c in s.containers:
        calls.add_metric([c.name, "success"], c.succeeded)
        calls.add_metric([c.name, "failure"], c.failed)
        seconds.add_metric([c.name], c.busy_seconds)
        in_flight.add_metric([c.name], c.in_flight)
        up.add_metric([c.name], 1.0 if c.state == "ready" else 0.0)
        restarts.add_metric([c.name], c.restarts)
    yield from (calls, seconds, in_flight, up, restarts)


def _chain_metrics(chain: ChainFigures) -> Iterator[Metric]:
    gauges = (
        ("infernet_chain_head_block", "Latest block the node has seen", chain.head_block),
        ("infernet_chain_sync_lag_blocks", "Blocks the node is behind the head",
         chain.sync_lag_blocks),
        ("infernet_wallet_balance_wei", "Node wallet balance", chain.wallet_balance_wei),
        ("infernet_wallet_nonce", "Next nonce of the node account", chain.wallet_nonce),
    )
    for name, doc, value in gauges:
        if value is not None:  # not published yet: no sample rather than a false zero
            yield _gauge(name, doc, value)
    txs = CounterMetricFamily("infernet_transactions_total", "Transactions, by outcome",
                              labels=["status"])
    txs.add_metric(["sent"], chain.transactions_sent)
    txs.add_metric(["failed"], chain.transactions_failed)
    yield txs


def _system_metrics(system: SystemFigures) -> Iterator[Metric]:
    yield _gauge("infernet_system_cpu_count", "Logical CPUs", system.cpu_count)
    yield _gauge("infernet_system_cpu_usage_ratio", "Host CPU use over the last sample period",
                 system.cpu_percent / 100.0)
    yield _gauge("infernet_system_memory_used_bytes", "Host memory in use",
                 system.memory_used_bytes)
    yield _gauge("infernet_system_memory_total_bytes", "Host memory", system.memory_total_bytes)
    for name, doc, value in (
        ("infernet_system_disk_used_bytes", "Used space on the data disk", system.disk_used_bytes),
        ("infernet_system_disk_total_bytes", "Size of the data disk", system.disk_total_bytes),
    ):
        disk = GaugeMetricFamily(name, doc, labels=["path"])
        disk.add_metric([system.disk_path], value)
        yield disk
    yield from _gpu_metrics(system)


def _gpu_metrics(system: SystemFigures) -> Iterator[Metric]:
    if not system.gpus:
        return
    labels = ["gpu", "name"]
    util = GaugeMetricFamily("infernet_gpu_utilization_ratio", "GPU busy share", labels=labels)
    used = GaugeMetricFamily("infernet_gpu_memory_used_bytes", "GPU memory in use", labels=labels)
    total = GaugeMetricFamily("infernet_gpu_memory_total_bytes", "GPU memory", labels=labels)
    temp = GaugeMetricFamily("infernet_gpu_temperature_celsius", "GPU temperature",
                             labels=labels)
    for g in system.gpus:
        key = [str(g.index), g.name]
        if g.utilization_percent is not None:
            util.add_metric(key, g.utilization_percent / 100.0)
        if g.memory_used_bytes is not None:
            used.add_metric(key, g.memory_used_bytes)
        if g.memory_total_bytes is not None:
            total.add_metric(key, g.memory_total_bytes)
        if g.temperature_celsius is not None:
            temp.add_metric(key, g.temperature_celsius)
    yield from (util, used, total, temp)


class SnapshotCollector:
    """Yields nothing until the source has a snapshot."""

    def __init__(self, source: SnapshotSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        snapshot = self._source()
        if snapshot is None:
            return
        yield from _node_metrics(snapshot)
        yield from _container_metrics(snapshot)
        if snapshot.chain is not None:
            yield from _chain_metrics(snapshot.chain)
        if snapshot.system is not None:
            yield from _system_metrics(snapshot.system)


def node_registry(source: SnapshotSource, *, process: bool = True) -> CollectorRegistry:
    """A registry with this node's figures and, with ``process``, the process_* figures."""
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(source))
    if process:
        ProcessCollector(registry=registry)
    return registry
