from __future__ import annotations

import random
import threading
from typing import Any

import pykka
import pytest

from actors.base import ActorFailed, ChildContext, SupervisedActor
from actors.directory import ActorUnavailable, Directory
from actors.restart_policy import RestartPolicy
from actors.supervisor import (
    ChildSpec,
    ChildStartError,
    StartChildren,
    StopChildren,
    Supervisor,
    SupervisorStatus,
)
from node.messages import ChildRestarted


class Crash:
    pass


class Echo:
    def __init__(self, value: Any) -> None:
        self.value = value


class Worker(SupervisedActor):
    def handle(self, message: Any) -> Any:
        if isinstance(message, Crash):
            raise RuntimeError("crash on purpose")
        if isinstance(message, Echo):
            return (self.ctx.name, self.ctx.generation, message.value)
        return None


class Listener(SupervisedActor):
    def __init__(self, ctx: ChildContext, events: list[ChildRestarted], seen: threading.Event):
        super().__init__(ctx)
        self.events = events
        self.seen = seen

    def handle(self, message: Any) -> Any:
        if isinstance(message, ChildRestarted):
            self.events.append(message)
            self.seen.set()
        return None


FAST = RestartPolicy(max_restarts=3, within=60.0, backoff_initial=0.001, backoff_max=0.01)


def wait_generation(directory: Directory, name: str, generation: int, timeout: float = 5.0):
    deadline = threading.Event()
    for _ in range(int(timeout / 0.01)):
        try:
            ref = directory.get(name)
            if ref.ask(Echo(0), timeout=1)[1] >= generation:
                return ref
        except (ActorUnavailable, ActorFailed, pykka.ActorDeadError):
            pass
        deadline.wait(0.01)
    raise AssertionError(f"{name} never reached generation {generation}")


@pytest.fixture
def system():
    made: list[pykka.ActorRef[Any]] = []
    yield made
    for ref in made:
        ref.stop(block=False)
    pykka.ActorRegistry.stop_all(timeout=5)


def start(system, specs, **kw):
    directory = Directory()
    sup = Supervisor.start(specs, directory, rand=random.Random(1), **kw)
    system.append(sup)
    sup.ask(StartChildren(), timeout=10)
    return sup, directory


def test_crashing_child_restarts_alone_while_others_serve(system):
    events: list[ChildRestarted] = []
    seen = threading.Event()
    specs = [
        ChildSpec("a", lambda ctx: Worker.start(ctx)),
        ChildSpec("b", lambda ctx: Worker.start(ctx)),
        ChildSpec("listener", lambda ctx: Listener.start(ctx, events, seen)),
    ]
    sup, directory = start(system, specs, policy=FAST, notify=("listener",))
    b_before = directory.get("b")
    directory.tell("a", Crash())
    wait_generation(directory, "a", 1)
    assert seen.wait(5)
    assert events[0].name == "a" and events[0].generation == 1
    # b was never touched: same ref, same generation
    assert directory.get("b") is b_before
    assert directory.ask("b", Echo("x"), timeout=1) == ("b", 0, "x")
    status = {c.name: c for c in sup.ask(SupervisorStatus(), timeout=1)}
    assert status["a"].restarts == 1 and status["b"].restarts == 0


def test_failure_inside_ask_reaches_supervisor(system):
    _sup, directory = start(system, [ChildSpec("a", lambda ctx: Worker.start(ctx))], policy=FAST)
    with pytest.raises(RuntimeError):
        directory.ask("a", Crash(), timeout=2)
    ref = wait_generation(directory, "a", 1)
    assert ref.ask(Echo(1), timeout=1) == ("a", 1, 1)


def test_exceeding_restart_intensity_escalates(system):
    escalated = threading.Event()
    reasons: list[str] = []

    def on_escalate(reason: str) -> None:
        reasons.append(reason)
        escalated.set()

    _sup, directory = start(system, [ChildSpec("a", lambda ctx: Worker.start(ctx))],
                           policy=FAST, on_escalate=on_escalate)
    for gen in range(FAST.max_restarts + 1):
        ref = wait_generation(directory, "a", gen)
        ref.tell(Crash())
    assert escalated.wait(5)
    assert "restart intensity exceeded" in reasons[0]
    assert len(reasons) == 1


class FailsOnStart(SupervisedActor):
    def started(self) -> None:
        raise RuntimeError("cannot start")


def test_start_failure_stops_started_children_and_raises(system):
    specs = [
        ChildSpec("a", lambda ctx: Worker.start(ctx)),
        ChildSpec("bad", lambda ctx: FailsOnStart.start(ctx), ready_timeout=2),
    ]
    directory = Directory()
    sup = Supervisor.start(specs, directory, policy=FAST)
    system.append(sup)
    with pytest.raises(ChildStartError, match="bad failed to start"):
        sup.ask(StartChildren(), timeout=10)
    with pytest.raises(ActorUnavailable):
        directory.get("a")


def test_stop_children_in_reverse_order(system):
    order: list[str] = []

    class Recorder(SupervisedActor):
        def stopping(self) -> None:
            order.append(self.ctx.name)

    specs = [ChildSpec(n, lambda ctx: Recorder.start(ctx)) for n in ("first", "second", "third")]
    sup, _ = start(system, specs)
    sup.ask(StopChildren(), timeout=10)
    assert order == ["third", "second", "first"]


def test_backoff_grows_and_is_capped():
    p = RestartPolicy(backoff_initial=0.1, backoff_max=1.0, jitter=0.0)
    assert [p.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    jittered = RestartPolicy(backoff_initial=1.0, jitter=0.5).backoff(1, random.Random(3))
    assert 1.0 <= jittered <= 1.5
