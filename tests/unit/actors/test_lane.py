from __future__ import annotations

import queue
import threading

import msgspec

from actors.lane import Lane
from node.containers.client import ContainerEndpoint
from node.messages import ContainerError, ContainerOutput, JobLocation, StepRequest


def step(n: int) -> StepRequest:
    return StepRequest(job_id=f"j{n}", step=0, container="c", source=JobLocation.OFFCHAIN,
                       destination=JobLocation.OFFCHAIN, data=msgspec.Raw(b"{}"),
                       requires_proof=False)


def make(concurrency: int = 2):
    replies: queue.SimpleQueue = queue.SimpleQueue()
    calls: list[str] = []
    release = threading.Event()

    def call(endpoint: ContainerEndpoint, s: StepRequest):
        calls.append(s.job_id)
        release.wait(5)
        return ContainerOutput(container="c", output=msgspec.Raw(b'{"ok": 1}'))

    lane = Lane(ContainerEndpoint(container="c", base_url="http://127.0.0.1:1"), concurrency,
                call, lambda s, r, e: replies.put((s.job_id, r)))
    return lane, replies, calls, release


def test_closed_gate_holds_steps_in_order_until_open() -> None:
    lane, replies, calls, release = make(concurrency=1)
    release.set()
    for n in range(3):
        lane.put(step(n))
    assert replies.empty() and calls == []
    lane.open()
    got = [replies.get(timeout=5)[0] for _ in range(3)]
    assert got == ["j0", "j1", "j2"]
    lane.shutdown()


def test_concurrency_bounds_parallel_calls() -> None:
    lane, replies, calls, release = make(concurrency=2)
    lane.open()
    for n in range(4):
        lane.put(step(n))
    for _ in range(100):  # two workers take two steps; the others wait in the queue
        if len(calls) == 2:
            break
        threading.Event().wait(0.01)
    assert len(calls) == 2 and replies.empty()
    release.set()
    assert sorted(replies.get(timeout=5)[0] for _ in range(4)) == ["j0", "j1", "j2", "j3"]
    lane.shutdown()


def test_failing_lane_answers_with_the_reason() -> None:
    lane, replies, calls, _ = make()
    lane.fail("container c is not available: pull failed")
    lane.put(step(1))
    job, result = replies.get(timeout=5)
    assert job == "j1" and isinstance(result, ContainerError)
    assert "pull failed" in result.error and calls == []
    lane.shutdown()


def test_shutdown_answers_queued_steps_and_stops_workers() -> None:
    lane, replies, _, _ = make(concurrency=1)
    lane.put(step(1))  # gate closed: waiting
    lane.shutdown(timeout=5)
    job, result = replies.get(timeout=5)
    assert job == "j1" and isinstance(result, ContainerError)
    assert "shutting down" in result.error
