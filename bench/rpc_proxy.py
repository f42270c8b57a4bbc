"""A small logging JSON-RPC proxy on loopback: forwards every POST to an upstream node
(anvil) unchanged and counts what passed through.

A JSON-RPC batch (a JSON array) is one HTTP request carrying several calls, so both
are counted: ``http_requests`` and ``calls`` (with a per-method breakdown).

    with RpcProxy("http://127.0.0.1:8545") as proxy:
        ...  # point the node at proxy.url
        before = proxy.counts()
        ...
        used = proxy.counts() - before
"""

from __future__ import annotations

import http
import http.client
import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"


@dataclass(frozen=True)
class RpcCounts:
    """What the proxy saw: HTTP requests, JSON-RPC calls and calls by method."""

    http_requests: int = 0
    calls: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    # eth_call / eth_estimateGas by "method to selector", to tell the contract reads apart
    by_target: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: RpcCounts) -> RpcCounts:
        return RpcCounts(self.http_requests + other.http_requests, self.calls + other.calls,
                         self.by_method + other.by_method, self.by_target + other.by_target)

    def __sub__(self, other: RpcCounts) -> RpcCounts:
        return RpcCounts(self.http_requests - other.http_requests, self.calls - other.calls,
                         _minus(self.by_method, other.by_method),
                         _minus(self.by_target, other.by_target))


def _minus(a: Counter[str], b: Counter[str]) -> Counter[str]:
    left = Counter(a)
    left.subtract(b)
    return +left


def entries_in(body: bytes) -> list[Any]:
    """The JSON-RPC requests in one body (several for a batch)."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return ["<unparsable>"]
    return payload if isinstance(payload, list) else [payload]


def method_of(entry: Any) -> str:
    return str(entry.get("method", "<none>")) if isinstance(entry, dict) else "<bad entry>"


def target_of(entry: Any) -> str | None:
    """"eth_call 0xto 0xselector" for calls and gas estimates, else None."""
    method = method_of(entry)
    if method == "eth_getBlockByNumber":
        tag = (entry.get("params") or ["?"])[0]
        return f"{method} {'latest' if tag == 'latest' else 'number'} -"
    if method not in ("eth_call", "eth_estimateGas"):
        return None
    params = entry.get("params") or [{}]
    tx = params[0] if isinstance(params[0], dict) else {}
    data = str(tx.get("data") or tx.get("input") or "")
    return f"{method} {str(tx.get('to', '')).lower()} {data[:10]}"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up (the node exiting) is not news


class RpcProxy:
    """A threaded HTTP server on 127.0.0.1 (a free port) in front of ``upstream``."""

    def __init__(self, upstream: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream: need http://host:port, got {upstream!r}")
        self._upstream = (parts.hostname, parts.port)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._http_requests = 0
        self._calls = 0
        self._methods: Counter[str] = Counter()
        self._targets: Counter[str] = Counter()
        self._server = _QuietServer((HOST, 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="rpc-proxy")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> RpcProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def counts(self) -> RpcCounts:
        with self._lock:
            return RpcCounts(self._http_requests, self._calls, Counter(self._methods),
                             Counter(self._targets))

    def _record(self, body: bytes) -> None:
        entries = entries_in(body)
        targets = [t for t in map(target_of, entries) if t is not None]
        with self._lock:
            self._http_requests += 1
            self._calls += len(entries)
            self._methods.update(map(method_of, entries))
            self._targets.update(targets)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the node's client expects
            # Without TCP_NODELAY a response written in two segments waits for the
            # client's delayed ACK (40 ms) before its second part goes out.
            disable_nagle_algorithm = True
            upstream: http.client.HTTPConnection | None = None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._record(body)
                try:
                    status, content_type, answer = self._forward(body)
                except (OSError, http.client.HTTPException) as exc:
                    status, content_type = 502, "text/plain"
                    answer = f"upstream unreachable: {exc}".encode()
                head = (f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
                        f"Content-Type: {content_type}\r\nContent-Length: {len(answer)}\r\n"
                        "\r\n").encode("latin-1")
                self.wfile.write(head + answer)  # one segment: nothing for Nagle to hold

            def _forward(self, body: bytes) -> tuple[int, str, bytes]:
                # One upstream connection per client connection; reconnect once if the
                # kept-alive one went stale.
                for attempt in (1, 2):
                    if self.upstream is None:
                        self.upstream = http.client.HTTPConnection(*proxy._upstream,
                                                                   timeout=proxy._timeout)
                        self.upstream.connect()
                        assert self.upstream.sock is not None
                        self.upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    try:
                        self.upstream.request("POST", "/", body,
                                              {"Content-Type": "application/json"})
                        response = self.upstream.getresponse()
                        data = response.read()
                        return (response.status,
                                response.getheader("Content-Type", "application/json"), data)
                    except (OSError, http.client.HTTPException):
                        self.upstream.close()
                        self.upstream = None
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

            def finish(self) -> None:
                super().finish()
                if self.upstream is not None:
                    self.upstream.close()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # counted, not logged per request

        return Handler
