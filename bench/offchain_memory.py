"""Node memory while the benchmark runs: PSS (and RSS) of the gunicorn master + worker."""

from __future__ import annotations

import threading

from bench.support import node_memory_mib


class MemorySampler:
    """Samples master + worker PSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, master_pid: int, interval: float = 0.1) -> None:
        self.master_pid = master_pid
        self.interval = interval
        self.peak_pss = 0.0
        self.peak_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[float, float]:
        pss, rss, _ = node_memory_mib(self.master_pid)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_rss = max(self.peak_rss, rss)
        return pss, rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
