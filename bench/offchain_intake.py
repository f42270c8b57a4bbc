"""Intake + completion rate: client threads POST /api/jobs while one poller collects finished jobs.

A job counts once the node accepted it (200 with an id) AND a batched GET /api/jobs shows it
finished. The rate is completed jobs over the time from the first POST to the last completion seen.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from bench.support import Http, HttpError, job_body, results_path

POLL_BATCH = 50  # 50 ids keep the request line under gunicorn's 4094-byte limit


@dataclass
class IntakeResult:
    keepalive: bool
    submitted: int = 0
    accepted: int = 0
    rejected: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    completed: int = 0
    failed: int = 0
    post_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.post_seconds if self.post_seconds else 0.0

    @property
    def completed_per_s(self) -> float:
        return self.completed / self.total_seconds if self.total_seconds else 0.0


def run_intake(port: int, container: str, *, jobs: int, threads: int, keepalive: bool,
               max_seconds: float) -> IntakeResult:
    result = IntakeResult(keepalive=keepalive)
    pending: deque[str] = deque()
    lock = threading.Lock()
    remaining = [jobs]
    posting_done = threading.Event()
    t0 = time.monotonic()
    deadline = t0 + max_seconds
    last_completion = [t0]

    def take() -> bool:
        with lock:
            if remaining[0] <= 0 or time.monotonic() > deadline:
                return False
            remaining[0] -= 1
            return True

    def poster(n: int) -> None:
        client = Http(port, keepalive=keepalive)
        while take():
            body = job_body([container], {"prompt": "bench", "n": n})
            try:
                status, payload = client.request("POST", "/api/jobs", body)
            except (OSError, HttpError):
                client.close()
                with lock:
                    result.errors += 1
                continue
            with lock:
                result.submitted += 1
                if status == 200:
                    result.accepted += 1
                    pending.append(json.loads(payload)["id"])
                else:
                    result.rejected[status] = result.rejected.get(status, 0) + 1
        client.close()

    def poller() -> None:
        client = Http(port, keepalive=keepalive)
        while time.monotonic() < deadline:
            with lock:
                batch = [pending.popleft() for _ in range(min(POLL_BATCH, len(pending)))]
            if not batch:
                if posting_done.is_set():
                    break
                time.sleep(0.002)
                continue
            try:
                status, payload = client.request("GET", results_path(batch))
            except (OSError, HttpError):
                client.close()
                status, payload = 0, b"[]"
            done = set()
            if status == 200:
                for record in json.loads(payload):
                    if record["status"] != "running":
                        done.add(record["id"])
                        if record["status"] != "success":
                            result.failed += 1
            if done:
                result.completed += len(done)
                last_completion[0] = time.monotonic()
            with lock:
                pending.extend(i for i in batch if i not in done)
            if len(done) < len(batch) and len(batch) < POLL_BATCH:
                time.sleep(0.002)  # the rest is still running; give the node the CPU
        client.close()

    workers = [threading.Thread(target=poster, args=(i,), daemon=True) for i in range(threads)]
    poll_thread = threading.Thread(target=poller, daemon=True)
    poll_thread.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join(max_seconds + 30)
    result.post_seconds = time.monotonic() - t0
    posting_done.set()
    poll_thread.join(max_seconds + 30)
    result.total_seconds = last_completion[0] - t0
    return result
