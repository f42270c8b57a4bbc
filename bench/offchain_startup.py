"""Startup: time from spawning ``python -m node run`` to the first 200 from /health (chain off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.support import start_node, wait_http_ok


def measure_startup(workdir: Path, config: dict[str, Any], runs: int,
                    timeout: float = 60.0) -> list[float]:
    """Seconds to healthy for each of ``runs`` fresh starts (each in its own data dir)."""
    times = []
    for i in range(runs):
        run_dir = workdir / f"startup-{i}"
        cfg = dict(config, store=dict(config["store"], data_dir=str(run_dir / "data")))
        node = start_node(run_dir, cfg)
        try:
            healthy_at = wait_http_ok(node.port, "/health", timeout, poll=0.002)
            times.append(healthy_at - node.started_at)
        finally:
            node.stop()
    return times
