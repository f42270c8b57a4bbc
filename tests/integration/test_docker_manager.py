"""DockerManager against the real Docker engine, with the infernet-test workflow images."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator

import docker
import msgspec
import pytest

from node.config.schema import Container
from node.containers.addressing import container_base_url, container_host
from node.containers.docker_manager import (
    ContainerStartError,
    DockerEngineUnavailable,
    DockerManager,
    ImageUnavailable,
    docker_client_from_env,
)
from node.containers.docker_spec import LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_NODE
from tests import docker_support
from tests.docker_support import ECHO_IMAGE, free_port, remove_container, remove_containers

docker_client = docker_support.docker_client
workflow_images = docker_support.workflow_images

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("workflow_images")]

READY_TIMEOUT = 30.0
EVENT_TIMEOUT = 15.0


@pytest.fixture
def node_id(docker_client: docker.DockerClient) -> Iterator[str]:
    node = f"test-node-{uuid.uuid4().hex[:8]}"
    yield node
    remove_containers(docker_client, f"{LABEL_NODE}={node}")


@pytest.fixture
def manager(docker_client: docker.DockerClient, node_id: str) -> DockerManager:
    return DockerManager(docker_client, credentials=None, node_id=node_id)


def echo_spec(**overrides: object) -> Container:
    fields: dict[str, object] = {
        "id": f"it-echo-{uuid.uuid4().hex[:8]}",
        "image": ECHO_IMAGE,
        "port": free_port(),
    }
    fields.update(overrides)
    return Container(**fields)  # type: ignore[arg-type]


def post_json(url: str, body: object) -> tuple[int, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def started(manager: DockerManager, spec: Container) -> str:
    container_id = manager.start(spec)
    manager.wait_ready(spec, READY_TIMEOUT)
    return container_id


# --- engine and images ----------------------------------------------------------------


def test_client_from_env_reaches_the_engine() -> None:
    client = docker_client_from_env(timeout=10)
    try:
        assert client.ping()
    finally:
        client.close()


def test_client_from_env_names_an_unreachable_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(DockerEngineUnavailable, match=r"no-engine\.sock.*unreachable"):
        docker_client_from_env(timeout=2)


@pytest.mark.parametrize("mode", ["echo", "slow", "failing", "streaming"])
def test_each_test_image_runs_its_mode(manager: DockerManager, mode: str) -> None:
    spec = echo_spec(image=f"infernet-test/{mode}:latest")
    started(manager, spec)
    resources = json.loads(get_text(f"{container_base_url(spec, {})}/service-resources"))
    assert resources["service_id"] == mode


# --- start, reuse, recreate, refuse ----------------------------------------------


def test_started_container_serves_the_protocol(
    manager: DockerManager, docker_client: docker.DockerClient, node_id: str
) -> None:
    spec = echo_spec()
    container_id = started(manager, spec)

    status, body = post_json(
        f"{container_base_url(spec, {})}/service_output",
        {"source": 1, "destination": 1, "data": {"prompt": "hi"}, "requires_proof": False},
    )
    assert (status, body) == (200, {"output": {"prompt": "hi"}})

    container = docker_client.containers.get(container_id)
    assert container.name == spec.id
    assert container.labels[LABEL_MANAGED] == "true"
    assert container.labels[LABEL_NODE] == node_id
    assert len(container.labels[LABEL_CONFIG_HASH]) == 64
    host_config = container.attrs["HostConfig"]
    assert host_config["RestartPolicy"]["Name"] == "no"
    assert host_config["PortBindings"] == {
        "3000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(spec.port)}]
    }
    state = manager.state(spec.id)
    assert state.exists and state.running and state.status == "running"
    assert state.exit_code is None and state.started_at
    assert manager.managed_names() == [spec.id]


def test_command_env_and_volumes_reach_the_container(
    manager: DockerManager, docker_client: docker.DockerClient, tmp_path: object
) -> None:
    spec = echo_spec(
        command="--mode failing --service-id 'my service'",
        env={"GREETING": "hello"},
        volumes=(f"{tmp_path}:/data:ro",),
    )
    container_id = started(manager, spec)

    attrs = docker_client.containers.get(container_id).attrs
    assert attrs["Config"]["Cmd"] == ["--mode", "failing", "--service-id", "my service"]
    assert "GREETING=hello" in attrs["Config"]["Env"]
    assert attrs["HostConfig"]["Binds"] == [f"{tmp_path}:/data:ro"]
    assert attrs["HostConfig"]["DeviceRequests"] is None
    resources = json.loads(get_text(f"{container_base_url(spec, {})}/service-resources"))
    assert resources["service_id"] == "my service"


def test_same_config_reuses_the_container(manager: DockerManager) -> None:
    spec = echo_spec()
    first = started(manager, spec)
    assert manager.start(spec) == first

    manager.stop(spec.id, remove=False, timeout=5)
    assert manager.state(spec.id).running is False
    assert manager.start(spec) == first  # stopped but ours: started again, not recreated
    manager.wait_ready(spec, READY_TIMEOUT)
    assert manager.state(spec.id).running


def test_changed_config_recreates_the_container(
    manager: DockerManager, docker_client: docker.DockerClient
) -> None:
    spec = echo_spec()
    first = started(manager, spec)

    changed = msgspec.structs.replace(spec, env={"NEW_SETTING": "1"}, port=free_port())
    second = started(manager, changed)

    assert second != first
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(first)
    env = docker_client.containers.get(second).attrs["Config"]["Env"]
    assert "NEW_SETTING=1" in env
    status, _ = post_json(
        f"{container_base_url(changed, {})}/service_output",
        {"source": 1, "destination": 1, "data": {}},
    )
    assert status == 200


def test_refuses_a_same_named_container_it_does_not_manage(
    manager: DockerManager, docker_client: docker.DockerClient
) -> None:
    spec = echo_spec()
    foreign = docker_client.containers.create(ECHO_IMAGE, name=spec.id)
    try:
        with pytest.raises(ContainerStartError, match="does not manage") as caught:
            manager.start(spec)
        assert spec.id in str(caught.value)
        with pytest.raises(ContainerStartError, match="does not manage"):
            manager.restart(spec.id)
        manager.stop(spec.id, remove=True)
        assert docker_client.containers.get(spec.id).id == foreign.id  # left untouched
        assert manager.managed_names() == []
    finally:
        remove_container(docker_client, spec.id)


def test_refuses_a_container_of_another_node(
    manager: DockerManager, docker_client: docker.DockerClient
) -> None:
    spec = echo_spec()
    other = DockerManager(docker_client, credentials=None, node_id=f"other-{uuid.uuid4().hex}")
    other.start(spec)
    try:
        with pytest.raises(ContainerStartError, match="another node"):
            manager.start(spec)
    finally:
        other.stop(spec.id, remove=True, timeout=1)


def test_start_without_a_local_image_names_the_fix(manager: DockerManager) -> None:
    spec = echo_spec(image="infernet-test/never-built:latest")
    with pytest.raises(ContainerStartError, match="ensure_image"):
        manager.start(spec)


def test_port_conflict_fails_start_and_leaves_nothing(manager: DockerManager) -> None:
    first = echo_spec()
    started(manager, first)
    clash = echo_spec(port=first.port)
    with pytest.raises(ContainerStartError, match="start failed"):
        manager.start(clash)
    assert manager.state(clash.id).exists is False


def test_gpu_containers_request_all_gpus(
    manager: DockerManager, docker_client: docker.DockerClient
) -> None:
    spec = echo_spec(gpu=True)
    try:
        container_id = manager.start(spec)
    except ContainerStartError as exc:
        # No GPU runtime on this machine: the engine refuses the device request itself.
        assert "device" in str(exc).lower()
        assert manager.state(spec.id).exists is False
        return
    requests_ = docker_client.containers.get(container_id).attrs["HostConfig"]["DeviceRequests"]
    assert requests_[0]["Count"] == -1 and requests_[0]["Capabilities"] == [["gpu"]]


def test_bad_command_is_a_clear_error(manager: DockerManager) -> None:
    spec = echo_spec(command="--mode 'unbalanced")
    with pytest.raises(ContainerStartError, match="'command'"):
        manager.start(spec)


# --- readiness -------------------------------------------------------------------


def test_wait_ready_reports_an_exit_with_the_last_log_lines(manager: DockerManager) -> None:
    spec = echo_spec(command="--port not-a-number")
    manager.start(spec)
    with pytest.raises(ContainerStartError, match="exited before it was ready") as caught:
        manager.wait_ready(spec, READY_TIMEOUT)
    assert "--port" in str(caught.value)  # argparse's complaint, from the container's log
    state = manager.state(spec.id)
    assert state.exists and not state.running and state.exit_code == 2


def test_wait_ready_times_out_when_nothing_answers(manager: DockerManager) -> None:
    spec = echo_spec(command="--port 3999")  # listens where nothing is published
    manager.start(spec)
    began = time.monotonic()
    with pytest.raises(ContainerStartError, match="no HTTP answer"):
        manager.wait_ready(spec, 1.5)
    assert 1.4 <= time.monotonic() - began < 10


def test_wait_ready_ends_when_stop_is_set(manager: DockerManager) -> None:
    spec = echo_spec(command="--port 3999")
    manager.start(spec)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    with pytest.raises(ContainerStartError, match="cancelled"):
        manager.wait_ready(spec, 60, stop)
    assert time.monotonic() - began < 5


# --- deaths and restarts -----------------------------------------------------------


def collect_deaths(
    manager: DockerManager, stop: threading.Event
) -> tuple[queue.Queue[str], threading.Thread]:
    deaths: queue.Queue[str] = queue.Queue()
    events = manager.watch_deaths(stop)  # watching starts here, before anything is killed

    def run() -> None:
        for name in events:
            deaths.put(name)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return deaths, thread


def test_killed_container_is_reported_and_restarted(
    manager: DockerManager, docker_client: docker.DockerClient
) -> None:
    spec = echo_spec()
    started(manager, spec)
    bystander = echo_spec()  # a container of another node must not be reported
    stranger = DockerManager(docker_client, credentials=None, node_id=f"x-{uuid.uuid4().hex}")
    stranger.start(bystander)
    stop = threading.Event()
    deaths, watcher = collect_deaths(manager, stop)
    try:
        docker_client.containers.get(bystander.id).kill()
        docker_client.containers.get(spec.id).kill()

        assert deaths.get(timeout=EVENT_TIMEOUT) == spec.id
        state = manager.state(spec.id)
        assert state.exists and not state.running and state.exit_code == 137

        manager.restart(spec.id)
        manager.wait_ready(spec, READY_TIMEOUT)
        state = manager.state(spec.id)
        assert state.running and state.restart_count == 1
        assert get_text(f"{container_base_url(spec, {})}/") == "ok"
    finally:
        stop.set()
        stranger.stop(bystander.id, remove=True, timeout=1)
    watcher.join(timeout=5)
    assert not watcher.is_alive(), "watch_deaths did not end after stop was set"
    assert deaths.empty()


def test_removed_container_is_started_again_from_its_spec(manager: DockerManager) -> None:
    spec = echo_spec()
    first = started(manager, spec)
    manager.stop(spec.id, remove=True, timeout=2)
    assert manager.state(spec.id).exists is False
    with pytest.raises(ContainerStartError, match="does not exist"):
        manager.restart(spec.id)

    second = started(manager, spec)
    assert second != first
    assert manager.state(spec.id).running


def test_stop_with_remove_is_idempotent(manager: DockerManager) -> None:
    spec = echo_spec()
    started(manager, spec)
    manager.stop(spec.id, remove=True, timeout=2)
    manager.stop(spec.id, remove=True, timeout=2)
    manager.stop(spec.id, remove=False)
    manager.stop("it-never-existed-" + uuid.uuid4().hex, remove=True)
    assert manager.state(spec.id).exists is False
    assert manager.managed_names() == []


def test_stop_is_quick_because_the_server_handles_sigterm(manager: DockerManager) -> None:
    spec = echo_spec()
    started(manager, spec)
    began = time.monotonic()
    manager.stop(spec.id, remove=False, timeout=20)
    assert time.monotonic() - began < 10
    assert manager.state(spec.id).exit_code == 0


# --- logs ----------------------------------------------------------------------------


def log_text(chunks: Iterator[bytes]) -> str:
    return b"".join(chunks).decode()


def wait_for_log(manager: DockerManager, name: str, needle: str) -> None:
    deadline = time.monotonic() + EVENT_TIMEOUT
    while needle not in log_text(manager.logs(name)):
        assert time.monotonic() < deadline, f"{needle!r} never appeared in the logs of {name}"
        threading.Event().wait(0.05)


def test_logs_tail_and_since(manager: DockerManager) -> None:
    spec = echo_spec()
    started(manager, spec)
    base = container_base_url(spec, {})
    get_text(f"{base}/?marker=before")
    wait_for_log(manager, spec.id, "marker=before")

    everything = log_text(manager.logs(spec.id))
    assert "listening on 0.0.0.0:3000" in everything

    last = log_text(manager.logs(spec.id, tail=1))
    assert last.count("\n") == 1 and "marker=before" in last

    cut = time.time()
    get_text(f"{base}/?marker=after")
    wait_for_log(manager, spec.id, "marker=after")
    recent = log_text(manager.logs(spec.id, since=cut))
    assert "marker=after" in recent
    assert "marker=before" not in recent and "listening" not in recent


def test_logs_follow_streams_until_the_container_stops(manager: DockerManager) -> None:
    spec = echo_spec()
    started(manager, spec)
    lines: queue.Queue[bytes] = queue.Queue()

    stream = manager.logs(spec.id, tail=0, follow=True)  # following starts here

    def follow() -> None:
        for chunk in stream:
            lines.put(chunk)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    get_text(f"{container_base_url(spec, {})}/?marker=live")
    seen = b""
    while b"marker=live" not in seen:
        seen += lines.get(timeout=EVENT_TIMEOUT)
    manager.stop(spec.id, remove=False, timeout=5)
    follower.join(timeout=EVENT_TIMEOUT)
    assert not follower.is_alive(), "follow did not end when the container stopped"


def test_logs_of_a_missing_container_are_empty(manager: DockerManager) -> None:
    assert list(manager.logs("it-never-existed-" + uuid.uuid4().hex)) == []


# --- images ----------------------------------------------------------------------------


def test_pull_of_an_unknown_image_without_local_copy_is_unavailable(
    manager: DockerManager,
) -> None:
    image = f"infernet-test/does-not-exist-{uuid.uuid4().hex[:8]}:latest"
    with pytest.raises(ImageUnavailable) as caught:
        manager.ensure_image(image)
    message = str(caught.value)
    assert image in message
    assert "pull failed" in message and "no local copy" in message


def test_pull_failure_falls_back_to_the_local_image(
    manager: DockerManager, caplog: pytest.LogCaptureFixture
) -> None:
    # No registry is reachable, so pulling the locally built image fails.
    with caplog.at_level(logging.WARNING):
        assert manager.ensure_image(ECHO_IMAGE) == "local"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(getattr(r, "image", None) == ECHO_IMAGE and r.error for r in warnings)


# --- addressing ---------------------------------------------------------------------------


def test_container_address_follows_runtime() -> None:
    spec = Container(id="x", port=3123)
    assert container_host({}) == "localhost"
    assert container_host({"RUNTIME": "docker"}) == "host.docker.internal"
    assert container_base_url(spec, {}) == "http://localhost:3123"
    assert container_base_url(spec, {"RUNTIME": "docker"}) == "http://host.docker.internal:3123"
    remote = Container(id="y", url="https://svc.example/api/")
    assert container_base_url(remote, {"RUNTIME": "docker"}) == "https://svc.example/api"


def test_direct_address_answers_on_the_container_network(
        docker_client: docker.DockerClient, node_id: str) -> None:
    import http.client

    manager = DockerManager(docker_client, credentials=None, node_id=node_id)
    spec = Container(id="t-direct", image=ECHO_IMAGE, port=free_port())
    try:
        manager.start(spec)
        manager.wait_ready(spec, 30)
        address = manager.direct_address(spec)
        assert address is not None and address[1] == 3000
        conn = http.client.HTTPConnection(*address, timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    finally:
        remove_container(docker_client, "t-direct")
    assert manager.direct_address(spec) is None  # gone: no address
