"""The values a stats snapshot is made of: plain frozen structs, JSON-ready.

Chain figures are optional as a whole (``None`` when the chain is disabled) and
field by field (``None`` until the chain actors have published them).
"""

from __future__ import annotations

import msgspec


class GpuFigures(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    name: str
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_celsius: float | None = None


class SystemFigures(msgspec.Struct, frozen=True, kw_only=True):
    cpu_count: int
    cpu_percent: float
    memory_used_bytes: int
    memory_total_bytes: int
    disk_path: str
    disk_used_bytes: int
    disk_total_bytes: int
    gpus: tuple[GpuFigures, ...] = ()


class ContainerFigures(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    state: str
    restarts: int
    in_flight: int
    succeeded: int
    failed: int
    busy_seconds: float


class JobFigures(msgspec.Struct, frozen=True, kw_only=True):
    running_offchain: int
    running_onchain: int
    succeeded: int
    failed: int


class ChainFigures(msgspec.Struct, frozen=True, kw_only=True):
    head_block: int | None = None
    sync_lag_blocks: int | None = None
    wallet_balance_wei: int | None = None
    wallet_nonce: int | None = None
    transactions_sent: int = 0
    transactions_failed: int = 0


class StatsSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    version: str
    taken_at: float  # unix seconds
    uptime_seconds: float
    jobs: JobFigures
    containers: tuple[ContainerFigures, ...]
    actor_restarts: dict[str, int]
    chain: ChainFigures | None = None
    system: SystemFigures | None = None
