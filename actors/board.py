"""Figures that actors publish and the REST layer reads without a round trip.

Actors are the only writers of their own entries; readers get snapshots. This
keeps hot REST paths (/info, /health) from queueing behind job traffic in an
actor's mailbox.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from node.stats.figures import SystemFigures


@dataclass
class ContainerGauge:
    state: str = "starting"
    detail: str = ""
    restarts: int = 0
    in_flight: int = 0
    succeeded: int = 0
    failed: int = 0
    total_seconds: float = 0.0


@dataclass
class Board:
    containers: dict[str, ContainerGauge] = field(default_factory=dict)
    jobs_running: int = 0
    jobs_succeeded: int = 0
    jobs_failed: int = 0
    onchain_running: int = 0
    escalated: str = ""
    # Read by the stats reporter; each has one writer. actor_restarts, chain_* and
    # wallet_*: the stats reporter, from the supervisor's ChildRestarted events and
    # the poller's and wallet's status answers. transactions_*: the wallet.
    # None = not known (yet).
    actor_restarts: dict[str, int] = field(default_factory=dict)
    chain_head_block: int | None = None
    chain_sync_lag_blocks: int | None = None
    wallet_balance_wei: int | None = None
    wallet_nonce: int | None = None
    transactions_sent: int = 0
    transactions_failed: int = 0
    # The reporter's latest sample of host figures.
    system_figures: SystemFigures | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def container(self, name: str) -> ContainerGauge:
        with self._lock:
            gauge = self.containers.get(name)
            if gauge is None:
                gauge = self.containers[name] = ContainerGauge()
            return gauge

    def container_states(self) -> dict[str, str]:
        with self._lock:
            return {name: g.state for name, g in self.containers.items()}
