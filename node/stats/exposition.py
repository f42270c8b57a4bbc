"""The text behind GET /metrics, and a stand-in for before the node is up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from node import __version__
from node.stats.collector import node_registry
from node.stats.figures import StatsSnapshot
from node.stats.snapshot import FigureBoard, snapshot_from_board


class MetricsSource(Protocol):
    def render(self) -> tuple[bytes, str] | None:
        """The exposition and its content type; None while there is nothing to serve."""


class RegistryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def render(self) -> tuple[bytes, str] | None:
        return generate_latest(self._registry), CONTENT_TYPE_LATEST


class LateMetrics:
    """Bound to the node's metrics once its actors are up, unbound when they stop.

    The REST app is built before the actors (see node.server.late_service), so it
    gets this holder first.
    """

    def __init__(self) -> None:
        self._source: MetricsSource | None = None
        self._lock = threading.Lock()

    def bind(self, source: MetricsSource | None) -> None:
        with self._lock:
            self._source = source

    def render(self) -> tuple[bytes, str] | None:
        with self._lock:
            source = self._source
        return None if source is None else source.render()


def board_metrics(
    board: FigureBoard,
    *,
    node_id: str,
    chain_enabled: bool,
    started_at: float | None = None,
    clock: Callable[[], float] = time.time,
) -> RegistryMetrics:
    """The node's /metrics, read from its board at each scrape (no actor is asked)."""
    since = clock() if started_at is None else started_at

    def snapshot() -> StatsSnapshot:
        return snapshot_from_board(board, node_id=node_id, version=__version__,
                                   chain_enabled=chain_enabled, started_at=since, now=clock())

    return RegistryMetrics(node_registry(snapshot))
