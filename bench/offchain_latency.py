"""Added latency: one job through the node versus the same request straight to the container.

One client thread, no other load. Each sample is a pair taken back to back, in alternating order:
  direct: POST /service_output to the container with the exact body the node sends it
          (``{"source":1,"destination":1,"data":...,"requires_proof":false}``), response read;
  node:   POST /api/jobs, then GET /api/jobs?id=... immediately and again until the job is not
          ``running``; the sample ends when the finished result is read.
Added latency of a pair = node - direct. A second, informational variant (``stream=True``) uses
POST /api/jobs/stream, which answers with the output in the same request (no polling), against a
direct call with ``destination`` 2. Both sides use the same connection mode: a new TCP
connection per request (connect included), or one kept-alive connection per side.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from bench.support import Http, job_body, percentile

DATA = {"prompt": "bench", "n": 1}
DIRECT_BODY = json.dumps(
    {"source": 1, "destination": 1, "data": DATA, "requires_proof": False}).encode()
DIRECT_STREAM_BODY = json.dumps({"source": 1, "destination": 2, "data": DATA}).encode()
RESULT_TIMEOUT = 10.0


@dataclass
class LatencyResult:
    keepalive: bool
    node_ms: list[float] = field(default_factory=list)
    direct_ms: list[float] = field(default_factory=list)
    added_ms: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    failures: int = 0

    def added(self, q: float) -> float:
        return percentile(self.added_ms, q)


def _direct(client: Http, body: bytes) -> float:
    start = time.perf_counter()
    status, _ = client.request("POST", "/service_output", body)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise RuntimeError(f"direct call answered {status}")
    return elapsed * 1000.0


def _through_node(client: Http, container: str, poll_interval: float) -> tuple[float, int]:
    body = job_body([container], DATA)
    start = time.perf_counter()
    status, payload = client.request("POST", "/api/jobs", body)
    if status != 200:
        raise RuntimeError(f"POST /api/jobs answered {status}: {payload[:200]!r}")
    path = "/api/jobs?id=" + json.loads(payload)["id"]
    polls = 0
    while True:
        polls += 1
        status, payload = client.request("GET", path)
        if status == 200:
            records = json.loads(payload)
            if records and records[0]["status"] != "running":
                elapsed = time.perf_counter() - start
                if records[0]["status"] != "success":
                    raise RuntimeError(f"job failed: {records[0]}")
                return elapsed * 1000.0, polls
        if time.perf_counter() - start > RESULT_TIMEOUT:
            raise RuntimeError("job still running after timeout")
        if poll_interval:
            time.sleep(poll_interval)


def _streamed_through_node(client: Http, container: str, _poll: float) -> tuple[float, int]:
    start = time.perf_counter()
    status, payload = client.request("POST", "/api/jobs/stream", job_body([container], DATA))
    elapsed = time.perf_counter() - start
    if status != 200 or b"bench" not in payload:
        raise RuntimeError(f"POST /api/jobs/stream answered {status}: {payload[:200]!r}")
    return elapsed * 1000.0, 0


def run_latency(node_port: int, direct_port: int, container: str, *, samples: int,
                keepalive: bool, max_seconds: float, warmup: int = 20,
                stream: bool = False, poll_interval: float = 0.0) -> LatencyResult:
    result = LatencyResult(keepalive=keepalive)
    node = Http(node_port, keepalive=keepalive)
    direct = Http(direct_port, keepalive=keepalive)
    deadline = time.monotonic() + max_seconds
    via_node = _streamed_through_node if stream else _through_node
    direct_body = DIRECT_STREAM_BODY if stream else DIRECT_BODY
    try:
        for i in range(warmup + samples):
            if time.monotonic() > deadline:
                break
            try:
                if i % 2 == 0:
                    d = _direct(direct, direct_body)
                    n, polls = via_node(node, container, poll_interval)
                else:
                    n, polls = via_node(node, container, poll_interval)
                    d = _direct(direct, direct_body)
            except (OSError, RuntimeError):
                result.failures += 1
                node.close()
                direct.close()
                continue
            if i < warmup:
                continue
            result.node_ms.append(n)
            result.direct_ms.append(d)
            result.added_ms.append(n - d)
            result.polls.append(polls)
    finally:
        node.close()
        direct.close()
    return result
