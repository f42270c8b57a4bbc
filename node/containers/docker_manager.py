"""The Docker adapter for managed workflow containers (containers.md §10).

It only talks to the engine: it pulls, creates, starts, probes, stops and
watches containers, and knows nothing about actors or jobs. Differences from
the original node, on purpose:

* containers carry labels naming this node and a hash of their settings, so a
  config change recreates the container instead of silently keeping the old
  one, and a same-named container the node did not create is never touched;
* the restart policy is ``no``: the node restarts dead containers itself;
* ``wait_ready`` probes the HTTP service before jobs are sent.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import docker
import msgspec
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from node.config.schema import Container, DockerCredentials
from node.containers import docker_events, docker_images
from node.containers.addressing import container_host
from node.containers.docker_errors import (
    ContainerStartError,
    DockerEngineUnavailable,
    ImageUnavailable,
)
from node.containers.docker_images import error_text
from node.containers.docker_spec import (
    LABEL_CONFIG_HASH,
    LABEL_MANAGED,
    LABEL_NODE,
    config_hash,
    create_kwargs,
    managed_label_filter,
)

__all__ = [
    "ContainerStartError",
    "ContainerState",
    "DockerEngineUnavailable",
    "DockerManager",
    "ImageUnavailable",
    "docker_client_from_env",
]

log = logging.getLogger(__name__)

READY_POLL_INTERVAL = 0.1
READY_PROBE_TIMEOUT = 1.0
FAILURE_LOG_LINES = 20
_ENGINE_ERRORS = (DockerException, requests.RequestException)
_NEVER_STARTED = "0001-01-01T00:00:00Z"


class ContainerState(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of one container as the engine reports it."""

    exists: bool
    running: bool = False
    status: str = "absent"  # Docker's word: created, running, exited, dead, ... or absent
    exit_code: int | None = None  # set once the container has stopped
    restart_count: int = 0  # restarts done through DockerManager.restart since start()
    started_at: str | None = None  # RFC 3339 from the engine
    health: str | None = None  # only for images with a HEALTHCHECK


def docker_client_from_env(timeout: float = 30.0) -> docker.DockerClient:
    """A client configured from DOCKER_HOST & co.; DockerEngineUnavailable if nobody answers."""
    where = os.environ.get("DOCKER_HOST") or "the local socket"
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except _ENGINE_ERRORS as exc:
        raise DockerEngineUnavailable(
            f"Docker engine at {where} is unreachable ({error_text(exc)}); "
            "start dockerd or set DOCKER_HOST"
        ) from exc
    return client


class DockerManager:
    def __init__(
        self,
        client: docker.DockerClient,
        *,
        credentials: DockerCredentials | None,
        node_id: str,
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._node_id = node_id
        self._restarts: dict[str, int] = {}
        self._lock = threading.Lock()

    # --- images -----------------------------------------------------------------

    def ensure_image(
        self, image: str, progress: Callable[[str], None] | None = None
    ) -> Literal["pulled", "local"]:
        return docker_images.ensure_image(self._client, image, self._credentials, progress)

    # --- lifecycle --------------------------------------------------------------

    def start(self, spec: Container) -> str:
        """Create (or reuse) and start the container named ``spec.id``; returns its id."""
        try:
            return self._start(spec)
        except _ENGINE_ERRORS as exc:
            raise ContainerStartError(spec.id, f"engine error: {error_text(exc)}") from exc

    def wait_ready(
        self, spec: Container, timeout: float, stop: threading.Event | None = None
    ) -> None:
        """Return once the service answers HTTP; ContainerStartError on exit, timeout or stop."""
        try:
            self._wait_ready(spec, timeout, stop if stop is not None else threading.Event())
        except _ENGINE_ERRORS as exc:
            raise ContainerStartError(spec.id, f"engine error: {error_text(exc)}") from exc

    def state(self, name: str) -> ContainerState:
        container = self._find(name)
        if container is None:
            return ContainerState(exists=False)
        raw: dict[str, Any] = container.attrs.get("State", {})
        status = str(raw.get("Status", "unknown"))
        started_at = raw.get("StartedAt")
        stopped = status in ("exited", "dead")
        with self._lock:
            restarts = self._restarts.get(name, 0)
        return ContainerState(
            exists=True,
            running=bool(raw.get("Running", False)),
            status=status,
            exit_code=int(raw.get("ExitCode", 0)) if stopped else None,
            restart_count=restarts,
            started_at=str(started_at) if started_at and started_at != _NEVER_STARTED else None,
            health=str(raw["Health"]["Status"]) if raw.get("Health") else None,
        )

    def direct_address(self, spec: Container) -> tuple[str, int] | None:
        """The container's own address on its Docker network, if it answers HTTP there.

        Calling a container there skips Docker's userland port proxy (a process that
        copies every byte and costs CPU on a busy node); the published port stays for
        everyone else. None when the address is unknown or unreachable from here (e.g.
        the node runs on another network), so callers keep the published port.
        """
        container = self._find(spec.id)
        if container is None:
            return None
        networks = container.attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
        for network in networks.values():
            ip = str((network or {}).get("IPAddress") or "")
            if ip and _http_answers(ip, spec.container_port):
                return ip, spec.container_port
        return None

    def restart(self, name: str) -> None:
        """Start an existing container again (restart it if it is running)."""
        container = self._find(name)
        if container is None:
            raise ContainerStartError(name, "does not exist; start it again from its spec")
        self._check_ours(container)
        try:
            if container.status == "running":
                container.restart()
            else:
                container.start()
        except _ENGINE_ERRORS as exc:
            raise ContainerStartError(name, f"restart failed: {error_text(exc)}") from exc
        with self._lock:
            self._restarts[name] = self._restarts.get(name, 0) + 1
        log.info("container restarted", extra={"container": name})

    def stop(self, name: str, *, remove: bool, timeout: float = 10.0) -> None:
        """Stop (and optionally remove) one of our containers; no-op if gone or not ours."""
        container = self._find(name)
        if container is None:
            return
        if not self._is_ours(container):
            log.warning("container not managed by this node; left alone", extra={"container": name})
            return
        try:
            container.stop(timeout=max(0, round(timeout)))
        except NotFound:
            return
        if remove:
            self._remove(container)
        log.info("container stopped", extra={"container": name, "removed": remove})

    # --- observation ------------------------------------------------------------

    def logs(
        self,
        name: str,
        *,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
    ) -> Iterator[bytes]:
        """Log output (stdout and stderr) in the chunks Docker sends, usually one line each.

        The stream is opened by this call, so with ``follow`` nothing logged after it
        returns is missed; the iterator ends when the container stops or when it is
        closed. A container that does not exist has no logs.
        """
        container = self._find(name)
        if container is None:
            return iter(())
        stream = container.logs(
            stream=True,
            follow=follow,
            tail="all" if tail is None else tail,
            since=since,
        )
        return _closing(stream)

    def watch_deaths(self, stop: threading.Event) -> Iterator[str]:
        """Names of this node's containers as they die, until ``stop`` is set."""
        return docker_events.watch_deaths(self._client, self._node_id, stop)

    def managed_names(self) -> list[str]:
        containers = self._client.containers.list(
            all=True, filters={"label": managed_label_filter(self._node_id)}
        )
        return sorted(str(c.name) for c in containers)

    # --- helpers ----------------------------------------------------------------

    def _start(self, spec: Container) -> str:
        name = spec.id
        digest = config_hash(spec, self._image_id(spec))
        existing = self._find(name)
        if existing is not None:
            self._check_ours(existing)
            if existing.labels.get(LABEL_CONFIG_HASH) == digest:
                return self._reuse(existing)
            log.info("container config changed; recreating", extra={"container": name})
            self._remove(existing)
        return self._create(spec, digest)

    def _wait_ready(self, spec: Container, timeout: float, waiter: threading.Event) -> None:
        name = spec.id
        host = container_host(os.environ)
        deadline = time.monotonic() + timeout
        while True:
            if _http_answers(host, spec.port):
                log.info("container ready", extra={"container": name})
                return
            state = self.state(name)
            if not state.running:
                raise ContainerStartError(
                    name,
                    f"exited before it was ready ({_describe(state)}); last log lines:\n"
                    + self._tail_text(name),
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ContainerStartError(
                    name,
                    f"no HTTP answer on {host}:{spec.port} within {timeout:g}s; last log lines:\n"
                    + self._tail_text(name),
                )
            if waiter.wait(min(READY_POLL_INTERVAL, remaining)):
                raise ContainerStartError(name, "wait for readiness cancelled")

    def _find(self, name: str) -> Any | None:
        try:
            container = self._client.containers.get(name)
        except NotFound:
            return None
        # The engine also resolves id prefixes; only an exact name match is the container.
        return container if container.name == name else None

    def _image_id(self, spec: Container) -> str:
        if not spec.image:
            raise ContainerStartError(spec.id, "field 'image' is empty")
        try:
            return str(self._client.images.get(spec.image).id)
        except ImageNotFound:
            raise ContainerStartError(
                spec.id, f"image {spec.image!r} is not present locally (ensure_image first)"
            ) from None

    def _is_ours(self, container: Any) -> bool:
        labels: dict[str, str] = container.labels
        return labels.get(LABEL_MANAGED) == "true" and labels.get(LABEL_NODE) == self._node_id

    def _check_ours(self, container: Any) -> None:
        labels: dict[str, str] = container.labels
        if labels.get(LABEL_MANAGED) != "true":
            raise ContainerStartError(
                container.name,
                "the name is taken by a container this node does not manage; remove or rename it",
            )
        owner = labels.get(LABEL_NODE)
        if owner != self._node_id:
            raise ContainerStartError(
                container.name,
                f"the name is taken by a container managed by another node ({owner!r})",
            )

    def _reuse(self, container: Any) -> str:
        if container.status != "running":
            try:
                container.start()
            except _ENGINE_ERRORS as exc:
                raise ContainerStartError(
                    container.name, f"could not start existing container: {error_text(exc)}"
                ) from exc
        log.info("container reused", extra={"container": container.name})
        return str(container.id)

    def _create(self, spec: Container, digest: str) -> str:
        try:
            container = self._client.containers.create(**create_kwargs(spec, self._node_id, digest))
        except _ENGINE_ERRORS as exc:
            raise ContainerStartError(spec.id, f"create failed: {error_text(exc)}") from exc
        try:
            container.start()
        except _ENGINE_ERRORS as exc:
            # A container that never ran keeps nothing worth inspecting; don't let it linger.
            self._remove(container)
            raise ContainerStartError(spec.id, f"start failed: {error_text(exc)}") from exc
        with self._lock:
            self._restarts.pop(spec.id, None)
        log.info(
            "container started",
            extra={"container": spec.id, "image": spec.image, "port": spec.port},
        )
        return str(container.id)

    def _remove(self, container: Any) -> None:
        try:
            container.remove(force=True)
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                raise
        with self._lock:
            self._restarts.pop(container.name, None)

    def _tail_text(self, name: str) -> str:
        try:
            text = b"".join(self.logs(name, tail=FAILURE_LOG_LINES)).decode("utf-8", "replace")
        except _ENGINE_ERRORS as exc:
            return f"(logs unavailable: {error_text(exc)})"
        return text.rstrip() or "(no output)"


def _closing(stream: Any) -> Iterator[bytes]:
    try:
        yield from stream
    finally:
        stream.close()


def _http_answers(host: str, port: int) -> bool:
    """True if anything answers HTTP on host:port (any status counts)."""
    connection = http.client.HTTPConnection(host, port, timeout=READY_PROBE_TIMEOUT)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


def _describe(state: ContainerState) -> str:
    if state.exit_code is not None:
        return f"status {state.status}, exit code {state.exit_code}"
    return f"status {state.status}"
