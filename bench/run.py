"""Off-chain node benchmark: intake rate, added latency, memory, startup. Prints one table.

    python -m bench [--no-docker] [--jobs N] [--threads N] [--samples N] ...

Every load is bounded in count and time and goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.offchain_intake import IntakeResult, run_intake
from bench.offchain_latency import LatencyResult, run_latency
from bench.offchain_memory import MemorySampler
from bench.offchain_startup import measure_startup
from bench.offchain_table import Row, at_least, below, render
from bench.support import (
    ECHO_IMAGE,
    REPO_ROOT,
    Http,
    echo_subprocess,
    ensure_echo_image,
    free_port,
    node_config,
    node_memory_mib,
    percentile,
    running_node,
    wait_http_ok,
)

CONTAINER_ID = "bench-echo"
ORIGINAL_RATE = 245.0
MEMORY_LIMIT_MIB = 128.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--no-docker", action="store_true",
                   help="run the echo server as a plain subprocess (node does not manage it)")
    p.add_argument("--jobs", type=int, default=5000, help="jobs per intake run (default 5000)")
    p.add_argument("--threads", type=int, default=8, help="client threads for intake (default 8)")
    p.add_argument("--samples", type=int, default=1000,
                   help="latency pairs per connection mode (default 1000)")
    p.add_argument("--memory-jobs", type=int, default=10_000,
                   help="jobs through the node before the 'after' memory reading (default 10000)")
    p.add_argument("--max-seconds", type=float, default=90.0,
                   help="time bound of each load phase (default 90)")
    p.add_argument("--poll-interval", type=float, default=0.0,
                   help="seconds between result polls in the latency runs (default 0: poll "
                        "again at once, the finest resolution and the hardest on the node)")
    p.add_argument("--queue-size", type=int, default=4096,
                   help="container queue_size: room for a burst, so the node's back-pressure "
                        "(429 Overloaded) does not cut the intake run short (default 4096)")
    p.add_argument("--startup-runs", type=int, default=3)
    p.add_argument("--store", action="store_true", help="also run bench/store_bench.py")
    p.add_argument("--keep-workdir", action="store_true")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def echo_container(no_docker: bool, port: int) -> Iterator[dict[str, Any]]:
    """The container entry of the node config; the echo server answers on ``port`` either way."""
    if no_docker:
        with echo_subprocess(port) as url:
            yield {"id": CONTAINER_ID, "url": url}
        return
    ensure_echo_image()
    subprocess.run(["docker", "rm", "-f", CONTAINER_ID], capture_output=True, check=False)
    try:
        yield {"id": CONTAINER_ID, "image": ECHO_IMAGE, "port": port}
    finally:
        subprocess.run(["docker", "rm", "-f", CONTAINER_ID], capture_output=True, check=False)


def wait_drained(port: int, timeout: float) -> None:
    """Wait until /info reports no pending off-chain jobs."""
    client = Http(port, keepalive=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            status, body = client.request("GET", "/info")
            if status == 200 and json.loads(body)["pending"]["offchain"] == 0:
                return
            time.sleep(0.05)
    finally:
        client.close()


def intake_rows(fresh: IntakeResult, keep: IntakeResult, threads: int) -> list[Row]:
    target = f">= {4 * ORIGINAL_RATE:.0f}/s"
    rows = []
    modes = ((fresh, "new conn", f"~{ORIGINAL_RATE:.0f}/s"), (keep, "keep-alive", "-"))
    for r, label, original in modes:
        rows.append(Row(f"jobs/s accepted+completed ({threads} thr, {label}, {r.completed} jobs)",
                        r.completed_per_s, "/s", target, original, at_least(4 * ORIGINAL_RATE)))
        rows.append(Row(f"  POST /api/jobs accepted/s ({label})", r.accepted_per_s, "/s"))
        refused = sum(r.rejected.values()) + r.errors
        rows.append(Row(f"  POSTs refused or failed ({label})", float(refused), "", "0", "-",
                        below(0.5)))
    return rows


def latency_rows(fresh: LatencyResult, keep: LatencyResult) -> list[Row]:
    rows = []
    for r, label, original in ((fresh, "new conn", "~9 ms"), (keep, "keep-alive", "88 ms")):
        n = len(r.added_ms)
        rows.append(Row(f"added latency p50 ({label}, {n} pairs)", r.added(50), "ms", "< 1.5 ms",
                        original, below(1.5)))
        rows.append(Row(f"added latency p99 ({label})", r.added(99), "ms", "< 5 ms", "-",
                        below(5.0)))
        for q in (50, 99):
            rows.append(Row(f"  node job p{q} ({label})", percentile(r.node_ms, q), "ms"))
            rows.append(Row(f"  direct call p{q} ({label})", percentile(r.direct_ms, q), "ms"))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[Row] = []
    notes: list[str] = []
    load_at_start = os.getloadavg()[0]
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="bench-offchain-"))
        say(f"workdir {workdir}; echo via {'subprocess' if args.no_docker else 'Docker'}")
        echo_port, node_port = free_port(), free_port()
        container = stack.enter_context(echo_container(args.no_docker, echo_port))
        config = node_config(workdir / "node", node_port, container, args.queue_size)
        node = stack.enter_context(running_node(workdir / "node", config))
        first_start = time.monotonic() - node.started_at
        wait_http_ok(echo_port, "/", 120.0)
        say(f"node pid {node.pid} healthy after {first_start:.2f}s; echo answers on {echo_port}")

        time.sleep(2.0)  # let the worker finish starting its actors before the idle reading
        idle_pss, idle_rss, nprocs = node_memory_mib(node.pid)
        say(f"idle: PSS {idle_pss:.1f} MiB, RSS {idle_rss:.1f} MiB over {nprocs} processes")

        # Startup runs use an unmanaged config pointing at the echo already up: no Docker work.
        startup_cfg = node_config(workdir / "startup", free_port(),
                                  {"id": CONTAINER_ID, "url": f"http://127.0.0.1:{echo_port}"})
        startups = measure_startup(workdir / "startup", startup_cfg, args.startup_runs)
        say(f"startup to healthy: {', '.join(f'{s:.3f}s' for s in startups)}")

        total_jobs = 0
        with MemorySampler(node.pid) as sampler:
            warm = run_intake(node_port, CONTAINER_ID, jobs=200, threads=args.threads,
                              keepalive=True, max_seconds=30)
            total_jobs += warm.accepted
            results: dict[bool, IntakeResult] = {}
            for keepalive in (False, True):
                wait_drained(node_port, 30)
                r = run_intake(node_port, CONTAINER_ID, jobs=args.jobs, threads=args.threads,
                               keepalive=keepalive, max_seconds=args.max_seconds)
                total_jobs += r.accepted
                results[keepalive] = r
                say(f"intake keepalive={keepalive}: {r.completed}/{r.accepted} completed "
                    f"({r.failed} failed), rejected {r.rejected}, errors {r.errors}, "
                    f"{r.completed_per_s:.0f}/s; POST {r.accepted_per_s:.0f}/s")
            rows += intake_rows(results[False], results[True], args.threads)

            lat: dict[bool, LatencyResult] = {}
            for keepalive in (False, True):
                wait_drained(node_port, 30)
                lr = run_latency(node_port, echo_port, CONTAINER_ID, samples=args.samples,
                                 keepalive=keepalive, max_seconds=args.max_seconds,
                                 poll_interval=args.poll_interval)
                total_jobs += len(lr.node_ms) + 20
                lat[keepalive] = lr
                say(f"latency keepalive={keepalive}: {len(lr.added_ms)} pairs, added p50 "
                    f"{lr.added(50):.2f} ms p99 {lr.added(99):.2f} ms, failures {lr.failures}, "
                    f"polls/job mean {statistics.fmean(lr.polls) if lr.polls else 0:.2f}")
            rows += latency_rows(lat[False], lat[True])

            wait_drained(node_port, 30)
            streamed = run_latency(node_port, echo_port, CONTAINER_ID, samples=args.samples,
                                   keepalive=True, max_seconds=args.max_seconds, stream=True)
            total_jobs += len(streamed.node_ms) + 20
            rows += [Row(f"  added p50 / POST /api/jobs/stream (keep-alive, "
                         f"{len(streamed.added_ms)} pairs)", streamed.added(50), "ms"),
                     Row("  added p99 / POST /api/jobs/stream (keep-alive)", streamed.added(99),
                         "ms")]

            if total_jobs < args.memory_jobs:
                top = run_intake(node_port, CONTAINER_ID, jobs=args.memory_jobs - total_jobs,
                                 threads=args.threads, keepalive=True, max_seconds=args.max_seconds)
                total_jobs += top.accepted
            wait_drained(node_port, 60)
            sampler.sample()
            peak_pss, peak_rss = sampler.peak_pss, sampler.peak_rss
        time.sleep(1.0)
        after_pss, after_rss, _ = node_memory_mib(node.pid)
        say(f"after {total_jobs} jobs: PSS {after_pss:.1f} MiB, RSS {after_rss:.1f} MiB; "
            f"peak PSS {peak_pss:.1f} MiB")

        limit = f"< {MEMORY_LIMIT_MIB:.0f} MiB"
        rows += [
            Row("node PSS idle (master+worker)", idle_pss, "MiB"),
            Row("  node RSS idle", idle_rss, "MiB", "-", "139 MB"),
            Row("node PSS peak under load", peak_pss, "MiB"),
            Row("  node RSS peak", peak_rss, "MiB"),
            Row(f"node PSS after {total_jobs:,} jobs", after_pss, "MiB", limit, "-",
                below(MEMORY_LIMIT_MIB)),
            Row(f"  node RSS after {total_jobs:,} jobs", after_rss, "MiB", "-",
                "152 MB (37k jobs)"),
            Row(f"startup to /health 200, median of {len(startups)} (chain off)",
                statistics.median(startups), "s", "< 1 s", "-", below(1.0)),
            Row("  startup worst", max(startups), "s"),
            Row(f"  first start ({'unmanaged' if args.no_docker else 'Docker-managed echo'})",
                first_start, "s"),
        ]
        if total_jobs < args.memory_jobs:
            notes.append(f"only {total_jobs} jobs ran before the memory reading (time bound)")
        if not args.keep_workdir:
            stack.callback(subprocess.run, ["rm", "-rf", str(workdir)], check=False)

    notes.append(f"machine: {os.cpu_count()} CPUs, load average {load_at_start:.2f} at start and "
                 f"{os.getloadavg()[0]:.2f} at the end; other work on the machine lowers the "
                 "rates and lengthens the tails")
    print(render(rows))
    for note in notes:
        print(f"note: {note}")
    if args.store:
        print()
        subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "store_bench.py")], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
