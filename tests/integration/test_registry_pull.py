"""Authenticated pulls against a real registry (Debian's docker-registry) on loopback.

The engine treats 127.0.0.0/8 registries as insecure by default, so plain HTTP
with basic auth works without TLS. The image pushed is a tiny one made in the
test (one file, unique content), so pushing and pulling take milliseconds.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import docker
import pytest
from docker.errors import ImageNotFound

from node.config.schema import DockerCredentials
from node.containers.docker_manager import DockerManager, ImageUnavailable
from tests import docker_support
from tests.docker_support import free_port

docker_client = docker_support.docker_client

pytestmark = pytest.mark.docker

REGISTRY_BINARY = "/usr/bin/docker-registry"
USERNAME = "infernet"
PASSWORD = "s3cret-pass"
REGISTRY_START_TIMEOUT = 20.0

CONFIG_TEMPLATE = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
auth:
  htpasswd:
    realm: infernet-test
    path: {htpasswd}
"""


class Registry(NamedTuple):
    address: str  # host:port, as used in image names and logins
    log_path: Path


def _wait_until_up(address: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + REGISTRY_START_TIMEOUT
    while True:
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
            return  # 200 would mean auth is off; the assertion on 401 is in the tests
        except urllib.error.HTTPError:
            return  # 401: up, and asking for credentials
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"docker-registry did not start:\n{log_path.read_text()}", pytrace=False)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    if not Path(REGISTRY_BINARY).exists() or shutil.which("htpasswd") is None:
        pytest.skip("needs Debian packages docker-registry and apache2-utils")
    workdir = tmp_path_factory.mktemp("registry")
    htpasswd = workdir / "htpasswd"
    entry = subprocess.run(
        ["htpasswd", "-Bbn", USERNAME, PASSWORD], check=True, capture_output=True, text=True
    ).stdout
    htpasswd.write_text(entry)
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(CONFIG_TEMPLATE.format(root=workdir / "data", port=port, htpasswd=htpasswd))
    log_path = workdir / "registry.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT
        )
    address = f"127.0.0.1:{port}"
    try:
        _wait_until_up(address, process, log_path)
        yield Registry(address, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tiny_image_tar() -> bytes:
    """A root filesystem with one file whose content is unique, so every image is new."""
    content = f"infernet registry test {uuid.uuid4()}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def pushed_image(docker_client: docker.DockerClient, registry: Registry) -> Iterator[str]:
    """An image that exists in the registry only (the local tag is removed after the push)."""
    repository = f"{registry.address}/infernet-test/private-{uuid.uuid4().hex[:8]}"
    image = f"{repository}:v1"
    docker_client.api.import_image_from_data(tiny_image_tar(), repository=repository, tag="v1")
    auth = {"username": USERNAME, "password": PASSWORD}
    for line in docker_client.api.push(
        repository, tag="v1", stream=True, decode=True, auth_config=auth
    ):
        assert "error" not in line, f"push failed: {line}\n{registry.log_path.read_text()}"
    docker_client.images.remove(image)
    with pytest.raises(ImageNotFound):
        docker_client.images.get(image)
    yield image
    try:
        docker_client.images.remove(image, force=True)
    except ImageNotFound:
        pass


def manager_with(client: docker.DockerClient, registry: Registry, password: str) -> DockerManager:
    credentials = DockerCredentials(username=USERNAME, password=password, registry=registry.address)
    return DockerManager(client, credentials=credentials, node_id="registry-test")


def test_registry_demands_credentials(registry: Registry) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://{registry.address}/v2/", timeout=5)
    assert caught.value.code == 401


def test_pull_with_the_right_credentials(
    docker_client: docker.DockerClient, registry: Registry, pushed_image: str
) -> None:
    progress: list[str] = []
    manager = manager_with(docker_client, registry, PASSWORD)

    assert manager.ensure_image(pushed_image, progress.append) == "pulled"

    assert docker_client.images.get(pushed_image).tags == [pushed_image]
    assert progress, "pull progress was not reported"
    assert any("Downloaded newer image" in line or "Pull complete" in line for line in progress)


def test_pull_with_wrong_credentials_and_no_local_copy_fails_clearly(
    docker_client: docker.DockerClient, registry: Registry, pushed_image: str
) -> None:
    manager = manager_with(docker_client, registry, "wrong-password")

    with pytest.raises(ImageUnavailable) as caught:
        manager.ensure_image(pushed_image)

    message = str(caught.value)
    assert pushed_image in message
    assert "no local copy" in message
    assert "unauthorized" in message.lower() or "authentication" in message.lower()
    assert PASSWORD not in message and "wrong-password" not in message


def test_pull_without_credentials_is_refused(
    docker_client: docker.DockerClient, registry: Registry, pushed_image: str
) -> None:
    manager = DockerManager(docker_client, credentials=None, node_id="registry-test")
    with pytest.raises(ImageUnavailable, match="no local copy"):
        manager.ensure_image(pushed_image)


def test_pull_with_wrong_credentials_falls_back_to_a_local_copy(
    docker_client: docker.DockerClient, registry: Registry, pushed_image: str
) -> None:
    manager_with(docker_client, registry, PASSWORD).ensure_image(pushed_image)
    manager = manager_with(docker_client, registry, "wrong-password")

    assert manager.ensure_image(pushed_image) == "local"
