"""Behaviour every JobStore backend must show; backends subclass JobStoreContract.

A subclass provides the ``make_store`` fixture: a callable
``make_store(clock=..., finished_ttl=..., running_ttl=...) -> JobStore``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import msgspec
import pytest

from node.messages import ContainerError, ContainerOutput, JobRecord, JobStatus
from node.store.base import JobStore

FINISHED_TTL = 100.0
RUNNING_TTL = 10.0


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def job(
    job_id: str,
    *,
    client: str = "10.0.0.1",
    status: JobStatus = "running",
    at: float,
    runnable: bool = True,
    created_at: float | None = None,
) -> JobRecord:
    return JobRecord(
        id=job_id,
        client=client,
        containers=("hello",),
        status=status,
        data=msgspec.Raw(b'{"prompt":  "hi"}'),
        created_at=at if created_at is None else created_at,
        updated_at=at,
        runnable=runnable,
    )


class JobStoreContract:
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, make_store: Callable[..., JobStore], clock: FakeClock) -> JobStore:
        return make_store(clock=clock, finished_ttl=FINISHED_TTL, running_ttl=RUNNING_TTL)

    def test_put_then_get_returns_the_same_record(self, store: JobStore, clock: FakeClock):
        record = JobRecord(
            id="a",
            client="10.0.0.1",
            containers=("one", "two"),
            status="success",
            data=msgspec.Raw(b'{"x": [1,  2]}'),
            requires_proof=True,
            result=ContainerOutput("two", msgspec.Raw(b'{"out":  "y"}')),
            intermediate=(ContainerError("one", "it broke"),),
            created_at=clock.now - 1,
            updated_at=clock.now,
            runnable=False,
            step=2,
        )
        store.put(record)
        got = store.get("10.0.0.1", "a")
        assert got == record
        assert got is not None and bytes(got.data or b"") == b'{"x": [1,  2]}'

    def test_get_unknown_or_other_clients_job_is_none(self, store: JobStore, clock: FakeClock):
        store.put(job("a", at=clock.now))
        assert store.get("10.0.0.1", "nope") is None
        assert store.get("10.0.0.2", "a") is None

    def test_put_replaces_the_record(self, store: JobStore, clock: FakeClock):
        store.put(job("a", at=clock.now))
        store.put(job("a", status="failed", at=clock.now + 1))
        got = store.get("10.0.0.1", "a")
        assert got is not None and got.status == "failed"
        assert store.list_ids("10.0.0.1") == ["a"]

    def test_get_many_finished_first_then_running_in_request_order(
        self, store: JobStore, clock: FakeClock
    ):
        t = clock.now
        store.put_many(
            [
                job("r1", at=t),
                job("f1", status="success", at=t),
                job("r2", at=t),
                job("f2", status="failed", at=t),
                job("other", client="10.0.0.2", status="success", at=t),
            ]
        )
        got = store.get_many("10.0.0.1", ["r2", "f2", "unknown", "r1", "other", "f1", "r2"])
        assert [r.id for r in got] == ["f2", "f1", "r2", "r1"]
        assert store.get_many("10.0.0.1", []) == []

    def test_list_ids_with_pending_filter(self, store: JobStore, clock: FakeClock):
        t = clock.now
        store.put_many(
            [
                job("f1", status="success", at=t),
                job("r1", at=t),
                job("m1", runnable=False, at=t),
                job("f2", status="failed", at=t),
                job("x", client="10.0.0.2", at=t),
            ]
        )
        assert sorted(store.list_ids("10.0.0.1", pending=True)) == ["m1", "r1"]
        assert sorted(store.list_ids("10.0.0.1", pending=False)) == ["f1", "f2"]
        both = store.list_ids("10.0.0.1")
        assert sorted(both[:2]) == ["m1", "r1"] and sorted(both[2:]) == ["f1", "f2"]
        assert store.list_ids("10.0.0.3") == []

    def test_clients_with_colons_stay_apart(self, store: JobStore, clock: FakeClock):
        t = clock.now
        store.put(job("b:c", client="::1:a", at=t))
        store.put(job("a:b:c", client="::1", status="success", at=t))
        store.put(job("x", client="2001:db8::1", at=t))
        assert [r.id for r in store.get_many("::1:a", ["b:c", "a:b:c"])] == ["b:c"]
        assert [r.id for r in store.get_many("::1", ["b:c", "a:b:c"])] == ["a:b:c"]
        assert store.list_ids("::1") == ["a:b:c"]
        assert store.list_ids("::1:a", pending=True) == ["b:c"]
        assert store.list_ids("2001:db8::1") == ["x"]
        assert store.list_ids("2001:db8:") == []

    def test_runnable_pending_oldest_first_only_runnable_running(
        self, store: JobStore, clock: FakeClock
    ):
        t = clock.now
        store.put_many(
            [
                job("new", at=t, created_at=t - 1),
                job("old", client="10.0.0.2", at=t, created_at=t - 5),
                job("manual", runnable=False, at=t),
                job("done", status="success", at=t),
            ]
        )
        assert [r.id for r in store.runnable_pending()] == ["old", "new"]
        store.put(job("old", client="10.0.0.2", status="success", at=t + 1))
        assert [r.id for r in store.runnable_pending()] == ["new"]

    def test_count_running_counts_live_running_records(self, store: JobStore, clock: FakeClock):
        t = clock.now
        store.put_many(
            [job("r", at=t), job("m", runnable=False, at=t), job("f", status="success", at=t)]
        )
        assert store.count_running() == 2
        clock.now = t + RUNNING_TTL + 1
        assert store.count_running() == 1

    def test_expired_records_are_not_returned_before_purge(self, store: JobStore, clock: FakeClock):
        t = clock.now
        store.put_many(
            [
                job("f", status="success", at=t),
                job("m", runnable=False, at=t),
                job("r", at=t - 10 * FINISHED_TTL),
            ]
        )
        clock.now = t + RUNNING_TTL + 1
        assert store.get("10.0.0.1", "m") is None
        assert [r.id for r in store.get_many("10.0.0.1", ["f", "m", "r"])] == ["f", "r"]
        clock.now = t + FINISHED_TTL + 1
        assert store.get("10.0.0.1", "f") is None
        assert store.list_ids("10.0.0.1") == ["r"]
        assert [r.id for r in store.get_many("10.0.0.1", ["f", "m", "r"])] == ["r"]
        assert [r.id for r in store.runnable_pending()] == ["r"]

    def test_purge_drops_expired_records_for_good(self, store: JobStore, clock: FakeClock):
        t = clock.now
        store.put_many(
            [
                job("f:%3A", client="::1", status="success", at=t),
                job("fresh", status="success", at=t + FINISHED_TTL),
                job("m", runnable=False, at=t),
                job("r", at=t),
            ]
        )
        assert store.purge_expired(t) == 0
        assert store.purge_expired(t + FINISHED_TTL + 1) == 2
        assert store.purge_expired(t + FINISHED_TTL + 1) == 0
        # Even a reader whose clock is behind no longer sees purged records.
        assert store.get("::1", "f:%3A") is None
        assert [r.id for r in store.get_many("10.0.0.1", ["f", "fresh", "m", "r"])] == [
            "fresh",
            "r",
        ]

    def test_put_many_stores_every_record(self, store: JobStore, clock: FakeClock):
        store.put_many([])
        store.put_many([job(f"j{i}", at=clock.now) for i in range(50)])
        assert sorted(store.list_ids("10.0.0.1")) == sorted(f"j{i}" for i in range(50))

    def test_concurrent_readers_and_a_writer(self, store: JobStore, clock: FakeClock):
        total = 300
        errors: list[BaseException] = []
        done = threading.Event()

        def write() -> None:
            try:
                for i in range(total):
                    store.put(job(f"j{i}", status="success", at=clock.now))
            except BaseException as exc:
                errors.append(exc)
            finally:
                done.set()

        def read() -> None:
            try:
                while not done.is_set():
                    ids = store.list_ids("10.0.0.1")
                    got = store.get_many("10.0.0.1", ids)
                    # Records are never deleted here, so a later read sees at least as many.
                    assert len(got) >= len(ids)
                    store.count_running()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write)] + [
            threading.Thread(target=read) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert len(store.get_many("10.0.0.1", [f"j{i}" for i in range(total)])) == total
