"""The node's gthread worker (a lighter event loop) behind a real gunicorn master."""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from node.server.gthread_worker import HOUSEKEEPING_SECONDS, NodeThreadWorker
from tests.gunicorn_support import served_by_gunicorn

WAIT = 20.0


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with served_by_gunicorn("tests.unit.server.slow_app:app", "--threads", "4",
                            "--graceful-timeout", "15") as served:
        yield served


def test_new_and_kept_alive_connections_are_served(served) -> None:
    _, url = served
    for n in range(50):
        assert requests.get(f"{url}/fresh/{n}", timeout=5).text == f"/fresh/{n}"
    with requests.Session() as session:
        for n in range(50):
            assert session.get(f"{url}/kept/{n}", timeout=5).text == f"/kept/{n}"


def test_concurrent_requests_beyond_the_thread_count(served) -> None:
    _, url = served
    answers: list[str] = []

    def fetch(n: int) -> None:
        answers.append(requests.get(f"{url}/slow?s=0.3&n={n}", timeout=WAIT).text)

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert answers == ["/slow"] * 10


def test_sigterm_lets_the_request_in_flight_finish(served, tmp_path: Path) -> None:
    proc, url = served
    mark = tmp_path / "in-flight"
    answer: list[requests.Response] = []
    fetcher = threading.Thread(target=lambda: answer.append(
        requests.get(f"{url}/slow", params={"s": "1.5", "mark": str(mark)}, timeout=WAIT)))
    fetcher.start()
    deadline = time.monotonic() + WAIT
    while not mark.exists():
        assert time.monotonic() < deadline, "the slow request never reached the app"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    fetcher.join(WAIT)
    assert answer and answer[0].status_code == 200 and answer[0].text == "/slow"
    assert proc.wait(timeout=WAIT) == 0


def bare_worker() -> NodeThreadWorker:
    """The worker's own parts without a gunicorn master (gunicorn's are stubbed)."""
    worker = NodeThreadWorker.__new__(NodeThreadWorker)
    worker.futures = set()
    worker._housekept = 0.0
    return worker


def test_finished_requests_leave_the_in_flight_set_by_themselves() -> None:
    worker = bare_worker()
    finished: list[object] = []
    worker.finish_request = finished.append
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(release.wait, WAIT) for _ in range(4)]
        for n, job in enumerate(jobs):
            worker._wrap_future(job, conn=f"conn-{n}")
        assert worker.futures == set(jobs)
        release.set()
    assert worker.futures == set()
    assert sorted(job.conn for job in finished) == ["conn-0", "conn-1", "conn-2", "conn-3"]


def test_heartbeat_and_parent_check_run_once_a_second_not_once_a_turn() -> None:
    worker = bare_worker()
    calls = {"notify": 0, "parent": 0, "turns": 0}
    readable, other_end = socket.socketpair()
    other_end.send(b"x")  # stays readable: every select returns at once
    worker.sockets = []
    worker.poller = selectors.DefaultSelector()
    worker.poller.register(readable, selectors.EVENT_READ, lambda sock: None)
    worker.alive = True
    worker.nr_conns, worker.worker_connections = 0, 100
    worker.tpool = ThreadPoolExecutor(max_workers=1)
    worker.cfg = SimpleNamespace(graceful_timeout=1)

    def notify() -> None:
        calls["notify"] += 1

    def parent_alive() -> bool:
        calls["parent"] += 1
        return True

    def turn_done() -> None:
        calls["turns"] += 1
        if calls["turns"] >= 2000:
            worker.alive = False

    worker.notify, worker.is_parent_alive, worker.murder_keepalived = notify, parent_alive, \
        turn_done
    started = time.monotonic()
    try:
        worker.run()
    finally:
        readable.close()
        other_end.close()
    seconds = time.monotonic() - started
    assert calls["turns"] == 2000
    assert 1 <= calls["notify"] <= seconds / HOUSEKEEPING_SECONDS + 1
    assert calls["parent"] == calls["notify"]
