from __future__ import annotations

import pytest
from falcon import testing

from node.api.app import ApiDeps, create_app
from node.config.schema import RateLimit, Server
from tests.unit.api.fakes import FakeJobService


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service() -> FakeJobService:
    return FakeJobService()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Client(testing.TestClient):
    """Like falcon's TestClient, but requests come from a peer address by default
    (falcon leaves REMOTE_ADDR unset; the app answers 400 then, as the original)."""

    def simulate_request(self, *args, **kwargs):
        kwargs.setdefault("remote_addr", "198.51.100.7")
        return super().simulate_request(*args, **kwargs)


def make_client(service, clock=None, **server) -> testing.TestClient:
    server.setdefault("rate_limit", RateLimit(num_requests=10_000, period=1))
    deps = ApiDeps(service=service, server=Server(**server), clock=clock or FakeClock())
    return Client(create_app(deps))


@pytest.fixture
def client(service, clock) -> testing.TestClient:
    return make_client(service, clock)
