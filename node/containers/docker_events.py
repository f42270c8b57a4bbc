"""Deaths of managed containers, read from the Docker events stream.

Events are read from the moment ``watch_deaths`` is called (not from the first
``next``), so a caller that starts watching and then acts never misses the
death it caused. The stream blocks in a socket read, so ending it on request
needs a second thread that closes the stream once ``stop`` is set (the SDK
supports closing from another thread). If the engine drops the stream (e.g.
dockerd restarts) it is reopened from the last event seen, skipping repeats.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import requests
from docker.errors import DockerException

from node.containers.docker_spec import managed_label_filter

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0
CLOSE_CHECK_INTERVAL = 0.2
_NANOS = 1_000_000_000


def watch_deaths(client: docker.DockerClient, node_id: str, stop: threading.Event) -> Iterator[str]:
    """Yield the name of every container of ``node_id`` that dies, until ``stop`` is set."""
    return _deaths(client, node_id, stop, since_nano=time.time_ns())


def _timestamp(nano: int) -> str:
    """The engine's ``seconds.nanoseconds`` form, so ``since`` is not rounded to a second."""
    return f"{nano // _NANOS}.{nano % _NANOS:09d}"


def _close_when(stream: Any, stop: threading.Event, done: threading.Event) -> None:
    while not done.is_set():
        if stop.wait(CLOSE_CHECK_INTERVAL):
            break
    with contextlib.suppress(Exception):  # closing a stream that already ended
        stream.close()


def _deaths(
    client: docker.DockerClient, node_id: str, stop: threading.Event, since_nano: int
) -> Iterator[str]:
    filters = {"type": "container", "event": "die", "label": managed_label_filter(node_id)}
    last_nano = since_nano - 1
    while not stop.is_set():
        try:
            stream = client.api.events(
                since=_timestamp(last_nano + 1), filters=filters, decode=True
            )
        except (DockerException, requests.RequestException) as exc:
            log.warning("docker events unavailable; retrying", extra={"error": str(exc)})
            stop.wait(RECONNECT_DELAY)
            continue
        done = threading.Event()
        closer = threading.Thread(
            target=_close_when, args=(stream, stop, done), name="docker-events-close", daemon=True
        )
        closer.start()
        try:
            for event in stream:
                nano = int(event.get("timeNano", 0))
                if nano <= last_nano:
                    continue  # replayed after a reconnect
                last_nano = nano
                name = event.get("Actor", {}).get("Attributes", {}).get("name")
                if name:
                    yield str(name)
        except (DockerException, requests.RequestException) as exc:
            log.warning("docker events stream failed; reopening", extra={"error": str(exc)})
        finally:
            done.set()
            closer.join()
        if not stop.is_set():
            stop.wait(RECONNECT_DELAY)
