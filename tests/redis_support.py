"""A real redis-server for tests: started on a free loopback port in a temp dir.

Bring the fixtures into a test module (or a conftest.py) by assignment, e.g.
``redis_server = redis_support.redis_server``; tests using them are skipped, with the reason,
when the redis-server binary is not installed.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=db, socket_timeout=5.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(proc: subprocess.Popen[bytes], server: RedisServer, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    client = server.client()
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {proc.returncode}:\n{log.read_text()}"
                )
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server not ready after {STARTUP_TIMEOUT}s") from None
                time.sleep(0.02)  # polling a condition, bounded by the deadline
    finally:
        client.close()


@contextlib.contextmanager
def running_redis_server(directory: Path) -> Iterator[RedisServer]:
    """A throw-away redis-server without persistence; stopped (and waited for) on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not found on PATH (install the redis-server package)")
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer("127.0.0.1", free_port())
    log = directory / "redis.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                "--bind",
                server.host,
                "--port",
                str(server.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(proc, server, log)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client on an emptied server (tests share one server per session)."""
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()
