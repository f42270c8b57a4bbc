"""Test harness for the subscription poller: a recording consumer actor, the poller
started under a directory the way the supervisor would, and a loopback HTTP proxy
in front of anvil that can answer 429 on demand."""

from __future__ import annotations

import http.client
import http.server
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pykka

from actors.base import ChildContext, SupervisedActor
from actors.chain_poller import SubscriptionPollerActor
from actors.directory import Directory
from node.chain.poller_messages import (
    ChainHead,
    SnapshotDone,
    SubscriptionsSeen,
    SyncReport,
    SyncStatus,
)
from node.chain.rpc import HttpRpc
from node.chain.subscription import Subscription
from node.messages import ChildFailed
from node.store.chain_db import ChainDb
from tests.chain_support import ChainSession

CONSUMER = "test-consumer"
POLLER = "subscription-poller"
M = TypeVar("M")


class Recorder(SupervisedActor):
    """The consumer stub: keeps every message it is told, in order."""

    def __init__(self, ctx: ChildContext, log: MessageLog) -> None:
        super().__init__(ctx)
        self._log = log

    def handle(self, message: Any) -> Any:
        self._log.add(message)
        return None


class MessageLog:
    def __init__(self) -> None:
        self._messages: list[Any] = []
        self._changed = threading.Condition()

    def add(self, message: Any) -> None:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()

    def all(self, kind: type[M] | None = None) -> list[M]:
        with self._changed:
            return [m for m in self._messages if kind is None or isinstance(m, kind)]

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(self, predicate: Callable[[MessageLog], bool], timeout: float = 20.0,
                 what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if predicate(self):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; got "
                                         f"{[type(m).__name__ for m in self._messages][-20:]}")
                self._changed.wait(min(left, 0.2))

    def subscriptions(self) -> dict[int, Subscription]:
        """The latest reading of every subscription told so far."""
        latest: dict[int, Subscription] = {}
        for seen in self.all(SubscriptionsSeen):
            for sub in seen.subscriptions:
                latest[sub.id] = sub
        return latest

    def snapshot_done(self) -> bool:
        return bool(self.all(SnapshotDone))


def mine(chain: ChainSession, blocks: int) -> None:
    for _ in range(blocks):
        chain.rpc("evm_mine")


class PollerHarness:
    """A consumer and a poller on one directory; the poller can be restarted."""

    def __init__(self, chain: ChainSession, db_path: str, *, rpc_url: str | None = None,
                 **options: Any) -> None:
        self.chain = chain
        self.db_path = db_path
        self.rpc_url = rpc_url or chain.anvil.rpc_url
        self.options = {"trail_head_blocks": 0, "batch_size": 50, "starting_sub_id": 0,
                        "batch_sleep": 0.01, "sync_period": 0.05, **options}
        self.directory = Directory()
        self.log = MessageLog()
        self.failures: list[ChildFailed] = []
        self.rpc: HttpRpc | None = None
        self.db: ChainDb | None = None
        self._generation = 0
        self.consumer: pykka.ActorRef[Any] | None = None
        self.poller: pykka.ActorRef[Any] | None = None
        self.start_consumer()

    def start_consumer(self) -> None:
        self.consumer = Recorder.start(self._ctx(CONSUMER), self.log)
        self.directory.register(CONSUMER, self.consumer)

    def listen(self, name: str) -> MessageLog:
        """Another recording actor, under ``name`` (e.g. the poller's head listener)."""
        log = MessageLog()
        self.directory.register(name, Recorder.start(self._ctx(name), log))
        return log

    def stop_consumer(self) -> None:
        assert self.consumer is not None
        self.directory.unregister(CONSUMER, self.consumer)
        self.consumer.stop(timeout=10)
        self.consumer = None

    def tell_poller(self, message: Any) -> None:
        assert self.poller is not None
        self.poller.tell(message)

    def _ctx(self, name: str) -> ChildContext:
        self._generation += 1
        return ChildContext(name, self._generation, self.directory, self.failures.append)

    def start_poller(self, **overrides: Any) -> HttpRpc:
        self.rpc = HttpRpc(self.rpc_url, timeout=5.0)
        self.db = ChainDb(self.db_path)
        options = {**self.options, **overrides}
        self.poller = SubscriptionPollerActor.start(
            self._ctx(POLLER), rpc=self.rpc,
            coordinator_address=self.chain.deployment.coordinator,
            reader_address=self.chain.deployment.reader, db=self.db, consumer=CONSUMER,
            **options)
        self.directory.register(POLLER, self.poller)
        return self.rpc

    def stop_poller(self) -> None:
        if self.poller is not None:
            self.poller.stop(timeout=10)
            self.poller = None
        if self.db is not None:
            self.db.close()
            self.db = None
        if self.rpc is not None:
            self.rpc.close()

    def status(self) -> SyncReport:
        assert self.poller is not None
        report = self.poller.ask(SyncStatus(), timeout=10)
        assert isinstance(report, SyncReport)
        return report

    def wait_synced_to(self, block: int, timeout: float = 20.0) -> SyncReport:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.status()
            # The cursor moves before the consumer has read what was told at that block:
            # wait for the consumer's ChainHead too (told last, after the block's events).
            heads = self.log.all(ChainHead)
            if report.cursor_block is not None and report.cursor_block >= block \
                    and heads and heads[-1].block >= block:
                return report
            assert not self.failures, self.failures
            time.sleep(0.05)
        raise AssertionError(f"poller did not reach block {block}: {self.status()}")

    def close(self) -> None:
        self.stop_poller()
        pykka.ActorRegistry.stop_all(timeout=10)


@contextmanager
def poller_harness(chain: ChainSession, db_path: str, **options: Any) -> Iterator[PollerHarness]:
    harness = PollerHarness(chain, db_path, **options)
    try:
        yield harness
    finally:
        harness.close()


class Throttle:
    """Shared switch of the proxy: while ``limited``, every request gets a 429."""

    def __init__(self) -> None:
        self.limited = threading.Event()
        self.lock = threading.Lock()
        self.forwarded = 0
        self.refused = 0


@contextmanager
def rate_limiting_proxy(upstream: str) -> Iterator[tuple[str, Throttle]]:
    """A loopback JSON-RPC proxy in front of ``upstream``."""
    target = urllib.parse.urlsplit(upstream)
    throttle = Throttle()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if throttle.limited.is_set():
                with throttle.lock:
                    throttle.refused += 1
                self._answer(429, b'{"error":"rate limited"}')
                return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            try:
                conn.request("POST", "/", body=body,
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except OSError:
                self._answer(502, b"upstream unavailable")
                return
            finally:
                conn.close()
            with throttle.lock:
                throttle.forwarded += 1
            self._answer(status, payload)

        def _answer(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", throttle
    finally:
        server.shutdown()
        server.server_close()
