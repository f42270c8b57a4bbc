"""Runs a WalletActor (node key, real HttpRpc) with an actor standing in for the
requester; used by the tests and by the crash-test subprocess."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pykka

from actors.base import ChildContext, Ping
from actors.directory import Directory
from actors.wallet import WalletActor
from node.chain.deployment import ZERO_ADDRESS, encode_call
from node.chain.rpc import HttpRpc
from node.chain.wallet_messages import SendTransaction, TransactionOutcome, WalletStatus
from node.messages import ChildFailed
from node.store.chain_db import ChainDb
from node.store.tx_store import TxStore
from tests.chain_support import NODE_KEY, ChainSession

REQUESTER = "requester"


class Inbox(pykka.ThreadingActor):
    """Stands in for the actor that asked: records every outcome it is told."""

    use_daemon_thread = True

    def __init__(self, outcomes: Outcomes) -> None:
        super().__init__()
        self._outcomes = outcomes

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, TransactionOutcome):
            self._outcomes.add(message)
        return None


@dataclass
class Outcomes:
    received: list[TransactionOutcome] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, outcome: TransactionOutcome) -> None:
        with self.changed:
            self.received.append(outcome)
            self.changed.notify_all()

    def wait_for(self, keys: set[str], timeout: float = 30.0) -> dict[str, TransactionOutcome]:
        with self.changed:
            ok = self.changed.wait_for(lambda: keys <= {o.key for o in self.received}, timeout)
            got = {o.key: o for o in self.received if o.key in keys}
        assert ok, f"no outcome for {sorted(keys - set(got))[:5]} within {timeout} s"
        return got

    def for_key(self, key: str) -> list[TransactionOutcome]:
        with self.changed:
            return [o for o in self.received if o.key == key]


@dataclass
class Wallet:
    ref: pykka.ActorRef[Any]
    rpc: HttpRpc
    db: ChainDb
    outcomes: Outcomes
    failures: list[ChildFailed]
    address: str
    directory: Directory
    inbox: pykka.ActorRef[Any]

    def send(self, key: str, to: str, data: bytes, **kwargs: Any) -> None:
        self.ref.tell(SendTransaction(key=key, to=to, data=data, reply_to=REQUESTER, **kwargs))

    def status(self) -> Any:
        """Also a barrier: every message told before has been handled."""
        return self.ref.ask(WalletStatus(), timeout=30)

    @property
    def store(self) -> TxStore:
        return TxStore(self.db, self.address)


@contextlib.contextmanager
def running_wallet(rpc_url: str, db_path: Path, *, outcomes: Outcomes | None = None,
                   **options: Any) -> Iterator[Wallet]:
    """A WalletActor (node key) with an Inbox registered as the requester."""
    directory = Directory()
    outcomes = outcomes if outcomes is not None else Outcomes()
    inbox = Inbox.start(outcomes)
    directory.register(REQUESTER, inbox)
    failures: list[ChildFailed] = []
    rpc = HttpRpc(rpc_url)
    db = ChainDb(str(db_path))
    settings: dict[str, Any] = {"max_gas_limit": 2_000_000, "allowed_sim_errors": (),
                                "poll_interval": 0.1, **options}
    ref = WalletActor.start(ChildContext("wallet", 1, directory, failures.append),
                            rpc=rpc, private_key=NODE_KEY, db=db, **settings)
    try:
        ref.ask(Ping(), timeout=30)
        directory.register("wallet", ref)
        address = ref.proxy().address.get(timeout=10)
        yield Wallet(ref, rpc, db, outcomes, failures, address, directory, inbox)
        assert not failures, f"wallet failed: {failures}"
    finally:
        with contextlib.suppress(pykka.ActorDeadError):
            ref.stop(timeout=10)
        inbox.stop()
        db.close()
        rpc.close()


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Polls ``condition`` until it returns something truthy (tests' own condition loop)."""
    deadline = time.monotonic() + timeout
    event = threading.Event()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        event.wait(0.05)



def deliver_call(chain: ChainSession, sub_id: int, interval: int = 1,
                 output: bytes = b"output") -> tuple[str, bytes]:
    """(to, calldata) of the Coordinator's deliverCompute with no proof and no wallet."""
    fn = chain.coordinator.functions.deliverCompute(sub_id, interval, b"input", output, b"",
                                                    ZERO_ADDRESS)
    return chain.deployment.coordinator, encode_call(fn)


class FaultyProxy:
    """A JSON-RPC proxy in front of anvil that answers chosen single requests with a
    canned failure (an HTTP status or a JSON-RPC error) instead of forwarding them."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._faults: dict[str, list[tuple[int, dict[str, Any] | None] | None]] = {}
        self._lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, payload = proxy._answer(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def fail(self, method: str, *, times: int = 1, status: int = 200,
             error: dict[str, Any] | None = None) -> None:
        """The next ``times`` calls of ``method`` fail: with ``error`` as the JSON-RPC
        error (status 200), or with the bare HTTP ``status``."""
        with self._lock:
            self._faults.setdefault(method, []).extend([(status, error)] * times)

    def forward(self, method: str) -> None:
        """The next call of ``method`` (after the failures queued so far) goes through."""
        with self._lock:
            self._faults.setdefault(method, []).append(None)

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        if isinstance(request, dict):
            method = request.get("method", "")
            with self._lock:
                self.seen[method] += 1
                queued = self._faults.get(method)
                fault = queued.pop(0) if queued else None
            if fault is not None:
                status, error = fault
                if error is None:
                    return status, b'{"error": "injected"}'
                return status, json.dumps({"jsonrpc": "2.0", "id": request.get("id"),
                                           "error": error}).encode()
        upstream = urllib.request.Request(self._upstream, data=body,
                                          headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(upstream, timeout=30) as response:
            return 200, response.read()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
