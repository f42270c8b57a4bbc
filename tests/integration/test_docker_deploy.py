"""The Docker deployment: node image built locally, run with the compose file.

No registry is reachable here, so the image is based on the local test base
image (Debian bookworm from debootstrap) and pip installs from a wheelhouse
built on the host. docker-compose 1.29 runs deploy/docker-compose.yaml (the
Compose v2 plugin reads the same file). The node manages its workflow
container as a sibling through the mounted Docker socket and answers a job
through the published port.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import NotFound
from web3 import Web3

from node.chain.devchain import AnvilProcess, deploy_devchain
from tests import docker_support
from tests.chain_support import free_port
from tests.docker_support import BASE_IMAGE, ECHO_IMAGE, REPO_ROOT
from tests.node_support import free_service_port

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1200)]

docker_client = docker_support.docker_client
workflow_images = docker_support.workflow_images

WHEELHOUSE = REPO_ROOT / ".ci" / "work" / "wheels"
COMPOSE_FILE = REPO_ROOT / "deploy" / "docker-compose.yaml"
NODE_IMAGE = "infernet-node:test"
# The base image's Python is 3.11.2: redis needs async-timeout there (not on the host's 3.11.7).
EXTRA_WHEELS = ("setuptools>=68", "wheel", "async-timeout>=4.0.3")
COOLDOWN_SECONDS = 3600  # the dev suite's NodeManager cooldown


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if probe.returncode == 0:
        return ["docker", "compose"]
    pytest.skip("neither docker-compose nor the docker compose plugin is installed")


def build_wheelhouse() -> None:
    """Dependency wheels for an offline image build; the node's own wheel is left out so
    the wheelhouse layer stays cached across code changes."""
    wanted = hashlib.sha256(
        (REPO_ROOT / "setup.cfg").read_bytes() + repr(EXTRA_WHEELS).encode()).hexdigest()
    stamp = WHEELHOUSE / ".requirements"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(WHEELHOUSE), str(REPO_ROOT),
         *EXTRA_WHEELS],
        capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stderr[-3000:]}", pytrace=False)
    for wheel in WHEELHOUSE.glob("infernet_node-*.whl"):
        wheel.unlink()
    stamp.write_text(wanted)


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def http_json(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def wait_until(check: Any, timeout: float, what: str, logs: Any) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"{what} not reached in {timeout}s (last: {last!r}):\n{logs()}")


@pytest.fixture(scope="module")
def compose_env(docker_client: docker.DockerClient, workflow_images: None) -> dict[str, str]:
    compose = compose_command()
    build_wheelhouse()
    env = dict(os.environ, INFERNET_NODE_IMAGE=NODE_IMAGE, INFERNET_BASE_IMAGE=BASE_IMAGE,
               DOCKER_BUILDKIT="0", COMPOSE_DOCKER_CLI_BUILD="0")
    # The compose file's own build section (context: the repository root).
    built = run([*compose, "-f", str(COMPOSE_FILE), "build", "node"], env=env,
                cwd=COMPOSE_FILE.parent, timeout=900)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    env["COMPOSE"] = json.dumps(compose)
    return env


@contextlib.contextmanager
def compose_up(workdir: Path, compose_env: dict[str, str], docker_client: docker.DockerClient,
               chain: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """`cd deploy && cp ../config.sample.json config.json && compose up -d`, in a copy."""
    project = f"infernet-deploy-{uuid.uuid4().hex[:8]}"
    workdir.mkdir()
    shutil.copy(COMPOSE_FILE, workdir / "docker-compose.yaml")
    config = json.loads((REPO_ROOT / "config.sample.json").read_text())
    echo_port, node_port = free_service_port(), free_service_port()
    container = dict(config["containers"][0], id=f"{project}-echo", image=ECHO_IMAGE,
                     port=echo_port,
                     # Reachable from the node's container via host.docker.internal.
                     publish_host="0.0.0.0")
    config.update(containers=[container], startup_wait=0)
    if chain is not None:
        config["chain"].update(chain)
    (workdir / "config.json").write_text(json.dumps(config, indent=2))
    env = dict(compose_env, INFERNET_NODE_CONTAINER=f"{project}-node",
               INFERNET_NODE_PORT=str(node_port))
    compose = [*json.loads(env["COMPOSE"]), "-p", project]
    info = {"url": f"http://127.0.0.1:{node_port}", "node": f"{project}-node",
            "echo": container["id"], "compose": compose, "env": env, "workdir": workdir}
    up = run([*compose, "up", "-d", "--no-build"], env=env, cwd=workdir, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield info
    finally:
        run([*compose, "down", "-v", "--timeout", "60"], env=env, cwd=workdir, timeout=180)
        docker_support.remove_container(docker_client, container["id"])


@pytest.fixture
def deployment(tmp_path: Path, compose_env: dict[str, str],
               docker_client: docker.DockerClient) -> Iterator[dict[str, Any]]:
    with compose_up(tmp_path / "deploy", compose_env, docker_client) as info:
        yield info


def node_logs(docker_client: docker.DockerClient, name: str) -> Any:
    def read() -> str:
        try:
            return str(docker_client.containers.get(name).logs(tail=60).decode())
        except NotFound:
            return "(node container gone)"
    return read


def test_compose_deployment_serves_a_job(deployment: dict[str, Any],
                                         docker_client: docker.DockerClient) -> None:
    url, echo = deployment["url"], deployment["echo"]
    logs = node_logs(docker_client, deployment["node"])
    node = docker_client.containers.get(deployment["node"])
    assert node.attrs["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert "RUNTIME=docker" in node.attrs["Config"]["Env"]

    wait_until(lambda: http_json(f"{url}/health")[0] == 200, 120, "healthy", logs)
    wait_until(lambda: echo in {c["id"] for c in http_json(f"{url}/info")[1]["containers"]},
               120, "echo container ready", logs)
    # The workflow container is a sibling on the host's engine, not a child of the node.
    assert docker_client.containers.get(echo).status == "running"

    status, body = http_json(f"{url}/api/jobs", {"containers": [echo], "data": {"x": 7}})
    assert status == 200, (status, body, logs())
    job_id = body["id"]

    def finished() -> Any:
        _, records = http_json(f"{url}/api/jobs?id={job_id}")
        return records and records[0]["status"] != "running" and records[0]

    record = wait_until(finished, 60, "job finished", logs)
    assert record["status"] == "success", record
    assert record["result"]["output"] == {"output": {"x": 7}}

    # Operator shortcuts inside the container run the node's CLI on the mounted config.
    checked = run(["docker", "exec", deployment["node"], "make", "check-config"])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    planned = run(["docker", "exec", deployment["node"], "make", "-n", "register-node",
                   "activate-node"])
    assert planned.stdout.splitlines() == [
        "infernet-node register-node --config /app/config.json",
        "infernet-node activate-node --config /app/config.json",
    ]

    down = run([*deployment["compose"], "down", "--timeout", "60"], env=deployment["env"],
               cwd=deployment["workdir"], timeout=180)
    assert down.returncode == 0, down.stderr
    with pytest.raises(NotFound):
        docker_client.containers.get(deployment["node"])
    # A graceful stop takes the managed workflow container down with the node.
    try:
        assert docker_client.containers.get(echo).status != "running"
    except NotFound:
        pass


def bridge_gateway(client: docker.DockerClient) -> str:
    """The host's address on Docker's default bridge: what host-gateway maps to."""
    ipam = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    if ipam.get("Gateway"):
        return str(ipam["Gateway"])
    # The engine leaves it out for docker0, whose gateway is the subnet's first address.
    return str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))


def make(node: str, target: str) -> subprocess.CompletedProcess[str]:
    return run(["docker", "exec", node, "make", target], timeout=180)


@pytest.mark.chain
def test_compose_node_on_a_dev_chain_registers_and_activates(
        tmp_path: Path, compose_env: dict[str, str],
        docker_client: docker.DockerClient) -> None:
    """The seed's "Registering on-chain": docker exec <container> make register-node /
    make activate-node, with the node in Docker and a dev chain on the host."""
    gateway = bridge_gateway(docker_client)
    anvil = AnvilProcess(free_port(), host=gateway)
    anvil.start()
    try:
        fragment = deploy_devchain(anvil.rpc_url, node_manager=True)
        chain = {"enabled": True, "trail_head_blocks": 0,
                 "rpc_url": f"http://host.docker.internal:{anvil.port}",
                 "registry_address": fragment["registry_address"],
                 "wallet": {"private_key": fragment["private_key"],
                            "payment_address": fragment["payment_address"]}}
        with compose_up(tmp_path / "deploy", compose_env, docker_client, chain) as info:
            node = info["node"]
            logs = node_logs(docker_client, node)
            wait_until(lambda: http_json(f"{info['url']}/health")[0] == 200, 120,
                       "healthy with the chain connected", logs)
            assert http_json(f"{info['url']}/info")[1]["chain"]["enabled"] is True

            probe = run(["docker", "exec", node, "infernet-node", "register-node", "--help"])
            if probe.returncode != 0:
                pytest.skip("register-node is not a command of this build yet: "
                            + probe.stderr.strip()[-200:])
            registered = make(node, "register-node")
            assert registered.returncode == 0, registered.stdout + registered.stderr
            assert "registered node" in registered.stdout
            # Past the NodeManager's cooldown, in chain time.
            w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
            w3.provider.make_request("evm_increaseTime", [COOLDOWN_SECONDS])  # type: ignore[arg-type]
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            activated = make(node, "activate-node")
            assert activated.returncode == 0, activated.stdout + activated.stderr
            assert "activated node" in activated.stdout
            status = make(node, "node-status")
            assert status.returncode == 0 and "Active" in status.stdout, status.stdout
    finally:
        anvil.stop()
