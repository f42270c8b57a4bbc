"""HTTP client for workflow containers (containers.md §1, §2, §7, §8).

Speed matters: the node should add well under a millisecond per job on top of
the container's own time. So requests go over persistent keep-alive
connections taken from a small per-endpoint pool, every socket has
TCP_NODELAY (the original lost ~88 ms per call to a Nagle/delayed-ACK stall on
keep-alive connections), and each request is written with one ``send``.

A pooled connection may have been closed by the server while idle. Such
connections are dropped before use when the socket already reports EOF, and a
request that still fails on a reused connection with a reset, a broken pipe or
a disconnect *before any response status* is sent once more on a fresh
connection. Nothing else is ever retried: a container may have processed it.

Faults of the container or the network never raise from ``call``: they become
a ``ContainerError`` with a readable text. The bearer token is never logged.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec

from node.containers.http1 import (
    Connection,
    Deadline,
    ProtocolError,
    ResponseHead,
    ServerClosed,
    request_bytes,
)
from node.containers.protocol import (
    MAX_ERROR_TEXT_BYTES,
    error_text,
    interpret_response,
    is_json_media_type,
    request_body,
    stream_request_body,
)
from node.messages import ContainerError, ContainerResult, StepRequest

log = logging.getLogger(__name__)

SERVICE_OUTPUT_PATH = "/service_output"
SERVICE_RESOURCES_PATH = "/service-resources"
# Failures that mean "the container or the network let us down".
_FAULTS = (OSError, ProtocolError)
# Idle connections younger than this skip the liveness poll before reuse.
_FRESH_SECONDS = 1.0
# Failures on a reused connection that show the server dropped it while idle.
_STALE = (ConnectionResetError, BrokenPipeError, ServerClosed)


class ContainerCallError(Exception):
    """A streaming call failed (status >= 400, connection fault or timeout)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ContainerEndpoint(msgspec.Struct, frozen=True):
    """Where and how to reach one container's HTTP service."""

    container: str
    base_url: str  # e.g. "http://localhost:3000", no trailing slash
    bearer: str | None = None
    timeout: float = 180.0

    def __post_init__(self) -> None:
        _target(self.base_url)  # fail at construction, naming the URL
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout!r}")

    def __repr__(self) -> str:
        bearer = "'***'" if self.bearer else "None"
        return (
            f"ContainerEndpoint(container={self.container!r}, base_url={self.base_url!r}, "
            f"bearer={bearer}, timeout={self.timeout!r})"
        )


class _Target(msgspec.Struct, frozen=True):
    scheme: str
    host: str
    port: int
    path: str  # prefix without trailing slash

    @property
    def authority(self) -> str:
        """``host:port`` as the Host header and URLs write it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path}"


def _target(base_url: str) -> _Target:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"base_url has an invalid port: {base_url!r}") from exc
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or default_port,
        path=parts.path.rstrip("/"),
    )


def _looks_closed(conn: Connection) -> bool:
    """True if an idle connection's socket is gone, at EOF or has unexpected data.

    TLS sockets are not polled: late session tickets make them readable while
    healthy; the stale-connection retry covers them.
    """
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket):
        return False
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class _Pool:
    """Idle keep-alive connections to one origin; at most ``max_idle`` are kept."""

    def __init__(self, target: _Target, max_idle: int, tls: ssl.SSLContext | None) -> None:
        self.target = target
        self._max_idle = max_idle
        self._tls = tls
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def new(self) -> Connection:
        return Connection(self.target.host, self.target.port, tls=self._tls)

    def get(self) -> tuple[Connection, bool]:
        """A connection and whether it was reused from the pool."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self.new(), False
            # A connection back from a call a moment ago is taken as is (under load that is
            # every call); one idle for longer is checked first. Either way a request the
            # server drops unanswered is retried once on a fresh connection.
            if time.monotonic() - conn.last_used < _FRESH_SECONDS or not _looks_closed(conn):
                return conn, True
            conn.close()

    def put(self, conn: Connection) -> None:
        conn.last_used = time.monotonic()
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _describe(exc: BaseException, target: _Target, timeout: float) -> str:
    """A readable text for a network-level failure."""
    where = target.origin
    if isinstance(exc, TimeoutError):
        return f"timed out after {float(timeout)} s waiting for {where}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host of {where}: {exc.strerror}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error with {where}: {exc.reason or exc}"
    if isinstance(exc, ServerClosed):
        return f"{where} closed the connection without answering"
    if isinstance(exc, ProtocolError):
        return f"invalid HTTP response from {where}: {exc}"
    if isinstance(exc, ConnectionError):
        return f"connection to {where} failed: {exc.strerror or exc}"
    return f"request to {where} failed: {exc}"


class _Exchange(NamedTuple):
    conn: Connection
    head: ResponseHead


class ContainerClient:
    """Thread-safe HTTP client shared by all container calls of a node."""

    def __init__(
        self,
        *,
        max_connections_per_endpoint: int = 8,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``max_connections_per_endpoint`` caps the idle connections kept per
        origin (concurrent calls beyond it open extra, short-lived connections).
        ``ssl_context`` replaces the default (system CAs) for https endpoints.
        """
        if max_connections_per_endpoint < 1:
            raise ValueError("max_connections_per_endpoint must be at least 1")
        self._max_idle = max_connections_per_endpoint
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = ssl_context

    # --- public API ----------------------------------------------------------

    def call(self, endpoint: ContainerEndpoint, step: StepRequest) -> ContainerResult:
        """POST one step to ``/service_output``; never raises for container faults."""
        pool = self._pool(endpoint.base_url)
        deadline = Deadline(endpoint.timeout)
        try:
            status, content_type, body = self._fetch(
                pool, "POST", SERVICE_OUTPUT_PATH, request_body(step), endpoint, deadline
            )
        except _FAULTS as exc:
            message = _describe(exc, pool.target, endpoint.timeout)
            log.info(
                "container call failed",
                extra={"container": step.container, "job_id": step.job_id, "error": message},
            )
            return ContainerError(container=step.container, error=message)
        return interpret_response(step.container, status, content_type, body)

    def stream(
        self,
        endpoint: ContainerEndpoint,
        data: msgspec.Raw,
        *,
        timeout: float | None = None,
    ) -> Iterator[bytes]:
        """POST a streaming request and yield the body's chunks as they arrive.

        ``timeout`` bounds the *whole* stream (default: ``endpoint.timeout``).
        Raises ``ContainerCallError`` (while iterating) for a status >= 400,
        connection faults and timeouts. Closing the iterator early closes the
        connection.
        """
        limit = endpoint.timeout if timeout is None else timeout
        pool = self._pool(endpoint.base_url)
        deadline = Deadline(limit)
        body = stream_request_body(data)
        try:
            exchange = self._open(pool, "POST", SERVICE_OUTPUT_PATH, body, endpoint, deadline)
        except _FAULTS as exc:
            raise ContainerCallError(_describe(exc, pool.target, limit)) from exc
        conn, head = exchange
        finished = False
        try:
            if head.status >= 400:
                text = error_text(_first_bytes(conn, head, deadline, MAX_ERROR_TEXT_BYTES + 1))
                message = f"HTTP {head.status}" + (f": {text}" if text else "")
                raise ContainerCallError(message)
            yield from conn.body_parts(head, deadline)
            finished = True
        except _FAULTS as exc:
            raise ContainerCallError(_describe(exc, pool.target, limit)) from exc
        finally:
            _release(pool, conn, head, reusable=finished)

    def resources(self, endpoint: ContainerEndpoint, model_id: str | None) -> Any | None:
        """GET ``/service-resources`` (``?model_id=...``); None on any failure."""
        path = SERVICE_RESOURCES_PATH
        if model_id is not None:
            path += "?model_id=" + urllib.parse.quote(model_id, safe="")
        pool = self._pool(endpoint.base_url)
        try:
            status, content_type, body = self._fetch(
                pool, "GET", path, None, endpoint, Deadline(endpoint.timeout)
            )
            if 200 <= status < 300 and is_json_media_type(content_type):
                return msgspec.json.decode(body)
            reason = f"HTTP {status}, content type {content_type!r}"
        except (*_FAULTS, msgspec.DecodeError) as exc:
            reason = (
                "invalid JSON"
                if isinstance(exc, msgspec.DecodeError)
                else _describe(exc, pool.target, endpoint.timeout)
            )
        log.info(
            "container resources unavailable",
            extra={"container": endpoint.container, "error": reason},
        )
        return None

    def close(self) -> None:
        """Close every idle connection (the client stays usable)."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # --- internals -----------------------------------------------------------

    def _pool(self, base_url: str) -> _Pool:
        pool = self._pools.get(base_url)
        if pool is not None:
            return pool
        target = _target(base_url)
        with self._lock:
            pool = self._pools.get(base_url)
            if pool is None:
                tls = self._tls_context() if target.scheme == "https" else None
                pool = self._pools[base_url] = _Pool(target, self._max_idle, tls)
            return pool

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    @staticmethod
    def _headers(endpoint: ContainerEndpoint, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if endpoint.bearer:
            headers["Authorization"] = f"Bearer {endpoint.bearer}"
        return headers

    def _open(
        self,
        pool: _Pool,
        method: str,
        path: str,
        body: bytes | None,
        endpoint: ContainerEndpoint,
        deadline: Deadline,
    ) -> _Exchange:
        """Send a request and read the response head, retrying a stale connection once."""
        request = request_bytes(method, pool.target.path + path, pool.target.authority,
                                self._headers(endpoint, body), body)
        conn, reused = pool.get()
        try:
            return _Exchange(conn, _exchange(conn, request, deadline))
        except _STALE:
            conn.close()
            if not reused:
                raise
        except BaseException:
            conn.close()
            raise
        log.debug(
            "stale keep-alive connection, reconnecting",
            extra={"container": endpoint.container},
        )
        conn = pool.new()
        try:
            return _Exchange(conn, _exchange(conn, request, deadline))
        except BaseException:
            conn.close()
            raise

    def _fetch(
        self,
        pool: _Pool,
        method: str,
        path: str,
        body: bytes | None,
        endpoint: ContainerEndpoint,
        deadline: Deadline,
    ) -> tuple[int, str | None, bytes]:
        """One complete request: status, content type and the whole body."""
        conn, head = self._open(pool, method, path, body, endpoint, deadline)
        finished = False
        try:
            content = conn.read_body(head, deadline, method)
            finished = True
        finally:
            _release(pool, conn, head, reusable=finished)
        return head.status, head.header("content-type"), content


def _exchange(conn: Connection, request: bytes, deadline: Deadline) -> ResponseHead:
    conn.send(request, deadline)
    return conn.read_head(deadline)


def _first_bytes(conn: Connection, head: ResponseHead, deadline: Deadline, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body (the rest is left unread)."""
    parts: list[bytes] = []
    size = 0
    for part in conn.body_parts(head, deadline):
        parts.append(part)
        size += len(part)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


def _release(pool: _Pool, conn: Connection, head: ResponseHead, *, reusable: bool) -> None:
    if reusable and head.reusable:
        pool.put(conn)
    else:
        conn.close()
