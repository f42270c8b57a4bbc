"""A job whose put returned survives the process being killed with SIGKILL."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from node.store.sqlite_store import SqliteJobStore

REPO = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = 200

# Puts records forever, one line on stdout after each put has returned.
WRITER = textwrap.dedent(
    """
    import sys, time
    import msgspec
    from node.messages import ContainerOutput, JobRecord
    from node.store.sqlite_store import SqliteJobStore

    store = SqliteJobStore(sys.argv[1], finished_ttl=3600.0, running_ttl=60.0)
    i = 0
    while True:
        now = time.time()
        status = "running" if i % 2 else "success"
        store.put(JobRecord(
            id=f"job-{i}", client="::1", containers=("c",), status=status,
            data=msgspec.Raw(b'{"n": %d}' % i),
            result=None if i % 2 else ContainerOutput("c", msgspec.Raw(b"[1]")),
            created_at=now, updated_at=now,
        ))
        sys.stdout.write(f"job-{i}\\n")
        sys.stdout.flush()
        i += 1
    """
)


def read_acks(proc: subprocess.Popen[bytes], count: int, timeout: float) -> list[str]:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buffer = b""
    while (lines := buffer.count(b"\n")) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"writer acknowledged only {lines} puts"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"writer exited early with {proc.poll()}"
            buffer += chunk
    return buffer.decode().split("\n")[:-1]


def drain(proc: subprocess.Popen[bytes]) -> list[str]:
    """Acknowledgements written before the kill that we had not read yet."""
    assert proc.stdout is not None
    return proc.stdout.read().decode().split("\n")[:-1]


def test_every_acknowledged_put_survives_sigkill(tmp_path: Path):
    path = tmp_path / "data" / "jobs.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
    )
    try:
        acked = read_acks(proc, ACKS_BEFORE_KILL, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    acked += drain(proc)
    assert proc.returncode == -signal.SIGKILL

    store = SqliteJobStore(str(path), finished_ttl=3600.0, running_ttl=60.0)
    try:
        found = store.get_many("::1", acked)
        assert sorted(r.id for r in found) == sorted(acked)
        for record in found:
            n = int(record.id.removeprefix("job-"))
            assert bytes(record.data or b"") == b'{"n": %d}' % n
        pending = {r.id for r in store.runnable_pending()}
        assert {i for i in acked if int(i.removeprefix("job-")) % 2} <= pending
    finally:
        store.close()
