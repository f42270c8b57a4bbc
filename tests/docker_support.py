"""Helpers for tests that drive the real Docker engine.

Use the fixtures by binding them in a test module (or a conftest)::

    from tests import docker_support
    docker_client = docker_support.docker_client
    workflow_images = docker_support.workflow_images

* ``docker_client`` (session): a client for the local engine. If the engine does not
  answer it runs ``.ci/start-dockerd.sh`` once; if that fails too the test is skipped
  with the reason.
* ``workflow_images`` (session): builds the ``infernet-test/*`` images (``ensure_test_images``).
* ``free_port()``: a free TCP port on 127.0.0.1.
* ``remove_containers(client, label)``: cleanup of everything a test created.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException, NotFound

REPO_ROOT = Path(__file__).resolve().parent.parent
START_DOCKERD = REPO_ROOT / ".ci" / "start-dockerd.sh"
BUILD_IMAGES = REPO_ROOT / ".ci" / "build-test-images.sh"

ECHO_IMAGE = "infernet-test/echo:latest"
SLOW_IMAGE = "infernet-test/slow:latest"
FAILING_IMAGE = "infernet-test/failing:latest"
STREAMING_IMAGE = "infernet-test/streaming:latest"
BASE_IMAGE = "infernet-test/base:latest"

IMAGE_BUILD_TIMEOUT = 600.0

_build_lock = threading.Lock()
_build_done = False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _connect() -> docker.DockerClient:
    client = docker.from_env(timeout=60)
    client.ping()
    return client


def engine_client() -> docker.DockerClient:
    """A client for the local engine, starting dockerd if needed; skips the test if impossible."""
    try:
        return _connect()
    except DockerException as exc:
        reason = str(exc)
    if START_DOCKERD.exists():
        started = subprocess.run(
            ["bash", str(START_DOCKERD)], capture_output=True, text=True, timeout=120
        )
        reason = started.stderr.strip() or reason
        if started.returncode == 0:
            try:
                return _connect()
            except DockerException as exc:
                reason = str(exc)
    pytest.skip(f"no Docker engine available: {reason}")


def ensure_test_images() -> None:
    """Build the infernet-test images once per session (the script itself skips what is current)."""
    global _build_done
    with _build_lock:
        if _build_done:
            return
        result = subprocess.run(
            ["bash", str(BUILD_IMAGES)],
            capture_output=True,
            text=True,
            timeout=IMAGE_BUILD_TIMEOUT,
        )
        if result.returncode != 0:
            pytest.fail(
                f"building test images failed (exit {result.returncode}):\n{result.stderr}",
                pytrace=False,
            )
        _build_done = True


def remove_containers(client: docker.DockerClient, label: str) -> None:
    """Force-remove every container carrying ``label`` (``key`` or ``key=value``)."""
    for container in client.containers.list(all=True, filters={"label": label}):
        try:
            container.remove(force=True)
        except NotFound:
            pass


def remove_container(client: docker.DockerClient, name: str) -> None:
    try:
        client.containers.get(name).remove(force=True)
    except NotFound:
        pass


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = engine_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def workflow_images(docker_client: docker.DockerClient) -> None:
    ensure_test_images()
