"""Figures that actors publish and the REST layer reads without a round trip.

Actors are the only writers of their own entries; readers get snapshots. This
keeps hot REST paths (/info, /health) from queueing behind job traffic in an
actor's mailbox.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


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
