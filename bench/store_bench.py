"""Job store micro-benchmark: puts per second and get_many latency for each backend.

Usage: python bench/store_bench.py [--puts N] [--batch N] [--reads N]
The Redis row starts a throw-away redis-server (skipped if it is not installed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.messages import ContainerOutput, JobRecord
from node.store.base import JobStore
from node.store.redis_store import RedisJobStore
from node.store.sqlite_store import SqliteJobStore

FINISHED_TTL = 3600.0
RUNNING_TTL = 900.0
CLIENT = "2001:db8::7"


def records(count: int) -> Iterator[JobRecord]:
    data = msgspec.Raw(b'{"prompt": "' + b"x" * 200 + b'"}')
    output = msgspec.Raw(b'{"output": "' + b"y" * 500 + b'"}')
    for i in range(count):
        now = time.time()
        yield JobRecord(
            id=f"{i:08d}-0000-4000-8000-000000000000",
            client=CLIENT,
            containers=("llm",),
            status="success" if i % 2 else "running",
            data=data,
            result=ContainerOutput("llm", output) if i % 2 else None,
            created_at=now,
            updated_at=now,
        )


def measure(store: JobStore, puts: int, batch: int, reads: int) -> dict[str, float]:
    singles = list(records(puts))
    started = time.perf_counter()
    for record in singles:
        store.put(record)
    put_seconds = time.perf_counter() - started

    started = time.perf_counter()
    store.put_many(singles[:batch])
    put_many_seconds = time.perf_counter() - started

    ids = [r.id for r in singles[:10]]
    latencies = []
    for _ in range(reads):
        started = time.perf_counter()
        found = store.get_many(CLIENT, ids)
        latencies.append(time.perf_counter() - started)
        assert len(found) == len(ids)
    latencies.sort()
    return {
        "put/s": puts / put_seconds,
        "us/put": put_seconds / puts * 1e6,
        "put_many rec/s": batch / put_many_seconds,
        "get_many(10) p50 us": statistics.median(latencies) * 1e6,
        "get_many(10) p99 us": latencies[int(len(latencies) * 0.99) - 1] * 1e6,
    }


def sqlite_store(stack: ExitStack) -> JobStore:
    directory = stack.enter_context(tempfile.TemporaryDirectory())
    store = SqliteJobStore(
        str(Path(directory) / "jobs.sqlite3"), finished_ttl=FINISHED_TTL, running_ttl=RUNNING_TTL
    )
    stack.callback(store.close)
    return store


def redis_store(stack: ExitStack) -> JobStore | None:
    import pytest

    from tests.redis_support import running_redis_server

    directory = stack.enter_context(tempfile.TemporaryDirectory())
    try:
        server = stack.enter_context(running_redis_server(Path(directory)))
    except pytest.skip.Exception as skipped:
        print(f"redis: {skipped}", file=sys.stderr)
        return None
    return RedisJobStore(
        server.client(), node_id="bench", finished_ttl=FINISHED_TTL, running_ttl=RUNNING_TTL
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--reads", type=int, default=2_000)
    args = parser.parse_args()

    backends: dict[str, Callable[[ExitStack], JobStore | None]] = {
        "sqlite": sqlite_store,
        "redis": redis_store,
    }
    rows: list[tuple[str, dict[str, float]]] = []
    for name, open_backend in backends.items():
        with ExitStack() as stack:
            store = open_backend(stack)
            if store is not None:
                rows.append((name, measure(store, args.puts, args.batch, args.reads)))
    if not rows:
        sys.exit("no backend could be measured")
    columns = list(rows[0][1])
    print(f"{'backend':<8}" + "".join(f"{c:>22}" for c in columns))
    for name, result in rows:
        print(f"{name:<8}" + "".join(f"{result[c]:>22,.1f}" for c in columns))


if __name__ == "__main__":
    main()
