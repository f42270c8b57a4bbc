"""Host figures through psutil: CPU, memory and the disk holding the node's data."""

from __future__ import annotations

import os
from collections.abc import Callable

import psutil

from node.stats.figures import GpuFigures, SystemFigures
from node.stats.gpu import read_gpus


def _existing(path: str) -> str:
    # The data dir may not exist yet on a fresh node; its nearest parent is on the same disk.
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def sample_system(
    data_dir: str, gpus: Callable[[], tuple[GpuFigures, ...]] = read_gpus
) -> SystemFigures:
    """CPU percent is the average since the previous call in this process (0.0 the first time)."""
    memory = psutil.virtual_memory()
    disk_path = _existing(data_dir)
    disk = psutil.disk_usage(disk_path)
    return SystemFigures(
        cpu_count=psutil.cpu_count() or 1,
        cpu_percent=psutil.cpu_percent(interval=None),
        memory_used_bytes=memory.total - memory.available,
        memory_total_bytes=memory.total,
        disk_path=disk_path,
        disk_used_bytes=disk.used,
        disk_total_bytes=disk.total,
        gpus=gpus(),
    )
