"""Fixtures for the chain adapter tests: the deployed suite on anvil (rolled back after
each test), an HttpRpc on it, a signer helper, and a scriptable JSON-RPC stub server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account import Account

from node.chain.rpc import HttpRpc
from node.chain.rpc_types import Receipt
from node.cli.registration import send_transaction
from tests.chain_support import ChainSession, chain, chain_session

__all__ = ["StubServer", "chain", "chain_session", "rpc", "send", "stub"]

StubReply = tuple[int, dict[str, str], bytes]


@pytest.fixture
def rpc(chain: ChainSession) -> Iterator[HttpRpc]:
    client = HttpRpc(chain.anvil.rpc_url)
    yield client
    client.close()


def send(rpc: HttpRpc, key: str, to: str, data: bytes) -> Receipt:
    """Signs with `key`, sends through `rpc` and returns the successful receipt."""
    receipt = send_transaction(rpc, Account.from_key(key), to, data, timeout=30)
    assert receipt.status == 1, receipt
    return receipt


class StubServer:
    """An HTTP/1.1 keep-alive server answering every POST with ``reply(request)``;
    counts connections and requests."""

    def __init__(self) -> None:
        self.reply: Callable[[Any], StubReply] = lambda request: json_reply(
            {"jsonrpc": "2.0", "id": request["id"], "result": "0x1"})
        self.connections = 0
        self.requests: list[Any] = []
        self.release = threading.Event()  # handlers that must hang wait on this
        self.close_after_reply = False
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 65536  # headers and body leave in one segment (no Nagle stall)

            def setup(self) -> None:
                super().setup()
                stub.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = json.loads(body)
                stub.requests.append(request)
                status, headers, payload = stub.reply(request)
                if status == 0:  # drop the connection without answering
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                if stub.close_after_reply:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None
               ) -> StubReply:
    return status, {"Content-Type": "application/json", **(headers or {})}, \
        json.dumps(payload).encode()


def error_reply(request: Any, error: dict[str, Any]) -> StubReply:
    return json_reply({"jsonrpc": "2.0", "id": request["id"], "error": error})


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    try:
        yield server
    finally:
        server.stop()
