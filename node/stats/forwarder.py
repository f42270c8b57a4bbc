"""Sends stats snapshots to an HTTP endpoint from a thread of its own.

``submit`` never blocks: it appends to a bounded buffer (when full, the oldest
snapshot is dropped and counted) and wakes the sender. The sender POSTs up to
``batch_size`` snapshots per request as ``{"node_id", "snapshots": [...]}``
JSON, and keeps a failed batch at the head of the buffer for the next attempt,
after an exponential backoff. An unreachable endpoint is worth one warning per
outage and an info line when it answers again: never an exception elsewhere.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from node.stats.figures import StatsSnapshot

log = logging.getLogger(__name__)

Post = Callable[[str, bytes, float], None]


class ForwardError(Exception):
    pass


def check_endpoint(url: str) -> str | None:
    """The reason ``url`` cannot be a stats endpoint, or None when it can."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "has an invalid port"
    return None


def _public_part(url: str) -> str:
    # The endpoint may carry credentials (user:password@ or a token in the query): log less.
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def post_json(url: str, body: bytes, timeout: float) -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise ForwardError(f"HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        raise ForwardError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class ForwardPolicy:
    batch_size: int = 10
    buffer_size: int = 1000
    timeout: float = 2.0
    backoff_first: float = 0.5
    backoff_max: float = 30.0


@dataclass
class ForwardCounts:
    sent: int = 0
    dropped: int = 0
    failed_attempts: int = 0


class StatsForwarder:
    def __init__(self, endpoint: str, node_id: str, policy: ForwardPolicy | None = None,
                 *, post: Post = post_json) -> None:
        reason = check_endpoint(endpoint)
        if reason is not None:
            raise ValueError(f"stats.endpoint {reason}")
        self._endpoint = endpoint
        self._node_id = node_id
        self._policy = policy or ForwardPolicy()
        self._post = post
        self._buffer: deque[StatsSnapshot] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sent_event = threading.Condition(self._lock)
        self._counts = ForwardCounts()
        self._outage = False
        self._dropping = False
        self._consecutive = 0
        self._where = _public_part(endpoint)
        self._thread = threading.Thread(target=self._run, name="stats-forwarder", daemon=True)
        self._thread.start()

    # --- callers' side (any thread, never blocks) ---------------------------

    def submit(self, snapshot: StatsSnapshot) -> None:
        with self._lock:
            if len(self._buffer) >= self._policy.buffer_size:
                self._buffer.popleft()
                self._counts.dropped += 1
                if not self._dropping:
                    self._dropping = True
                    log.warning("stats buffer full; dropping the oldest snapshots",
                                extra={"buffer_size": self._policy.buffer_size})
            self._buffer.append(snapshot)
        self._wake.set()

    def counts(self) -> ForwardCounts:
        with self._lock:
            return ForwardCounts(**vars(self._counts))

    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)

    def wait_sent(self, count: int, timeout: float) -> bool:
        """Waits until at least ``count`` snapshots were delivered in total."""
        with self._sent_event:
            return self._sent_event.wait_for(lambda: self._counts.sent >= count, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stops the sender after one last attempt (unless the endpoint is down)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    # --- the sender thread ------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        while True:
            if delay:
                self._stop.wait(delay)
            else:
                self._wake.wait()
            self._wake.clear()
            stopping = self._stop.is_set()
            if stopping and self._outage:
                return  # no final attempt against an endpoint known to be down
            delay = self._drain()
            if stopping:
                return

    def _drain(self) -> float:
        """Sends batches until the buffer is empty (0.0) or a send fails (the backoff)."""
        while True:
            with self._lock:
                batch = list(self._buffer)[: self._policy.batch_size]
            if not batch:
                return 0.0
            try:
                self._post(self._endpoint, self._encode(batch), self._policy.timeout)
            except ForwardError as exc:
                return self._failed(str(exc))
            self._delivered(batch)

    def _encode(self, batch: list[StatsSnapshot]) -> bytes:
        return msgspec.json.encode({"node_id": self._node_id, "snapshots": batch})

    def _delivered(self, batch: list[StatsSnapshot]) -> None:
        with self._lock:
            for item in batch:
                # submit() may have pushed part of the batch out of a full buffer meanwhile.
                if self._buffer and self._buffer[0] is item:
                    self._buffer.popleft()
            self._counts.sent += len(batch)
            self._dropping = False
            self._sent_event.notify_all()
        self._consecutive = 0
        if self._outage:
            self._outage = False
            log.info("stats endpoint reachable again", extra={"endpoint": self._where})

    def _failed(self, error: str) -> float:
        with self._lock:
            self._counts.failed_attempts += 1
        self._consecutive += 1
        if not self._outage:
            self._outage = True
            log.warning("stats endpoint unreachable; snapshots are kept and retried",
                        extra={"endpoint": self._where, "error": error})
        first, cap = self._policy.backoff_first, self._policy.backoff_max
        return float(min(cap, first * 2 ** min(self._consecutive - 1, 16)))
