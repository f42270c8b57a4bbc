"""``infernet-node doctor`` against a real Docker engine, a real anvil and bad settings."""

from __future__ import annotations

import io
import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import docker
import pytest
from eth_account import Account

from node.cli import main
from node.cli.doctor import Check, run_checks
from node.config import parse_config
from node.config.schema import Config
from node.containers.docker_spec import managed_labels
from tests import docker_support
from tests.chain_support import ChainSession, deployed_chain, free_port
from tests.docker_support import ECHO_IMAGE
from tests.node_support import free_service_port

docker_client = docker_support.docker_client
workflow_images = docker_support.workflow_images


@pytest.fixture(scope="module")
def chain_session() -> Iterator[ChainSession]:
    with deployed_chain() as session:
        yield session


def make_config(**overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "server": {"port": free_service_port(), "host": "127.0.0.1"},
        "containers": [],
        "chain": {"enabled": False},
    }
    raw.update(overrides)
    return parse_config(raw, env={}).config


def chain_settings(session: ChainSession, **changes: Any) -> dict[str, Any]:
    fragment = session.config_fragment()
    settings: dict[str, Any] = {
        "enabled": True, "rpc_url": fragment["rpc_url"],
        "registry_address": fragment["registry_address"],
        "wallet": {"private_key": fragment["private_key"], "max_gas_limit": 5_000_000},
    }
    settings.update(changes)
    return settings


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.mark.chain
def test_healthy_chain_passes_every_check(chain_session: ChainSession) -> None:
    checks = by_name(run_checks(make_config(chain=chain_settings(chain_session))))
    assert checks["chain RPC"].outcome == "ok"
    assert "chain id 31337" in checks["chain RPC"].detail
    assert checks["registry contract"].outcome == "ok"
    assert checks["wallet balance"].outcome == "ok"
    assert chain_session.node in checks["wallet balance"].detail
    assert checks["wallet nonce"].outcome == "ok"


@pytest.mark.chain
def test_cli_exit_status_and_output(chain_session: ChainSession, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    raw = {"server": {"port": free_service_port(), "host": "127.0.0.1"}, "containers": [],
           "chain": chain_settings(chain_session)}
    path.write_text(json.dumps(raw))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["doctor", "--config", str(path)])
    assert code == 0, out.getvalue()
    assert out.getvalue().splitlines()[-1].startswith("0 failed")
    # The key is a secret: never printed.
    assert chain_session.config_fragment()["private_key"][2:] not in out.getvalue()

    raw["chain"]["rpc_url"] = f"http://127.0.0.1:{free_port()}"
    path.write_text(json.dumps(raw))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["doctor", "--config", str(path)])
    assert code == 1
    assert "[FAIL] chain RPC" in out.getvalue()
    assert "fix: check chain.rpc_url" in out.getvalue()


def test_bad_rpc_url_fails_with_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    checks = run_checks(make_config(chain={
        "enabled": True, "rpc_url": url, "registry_address": "0x" + "11" * 20,
        "wallet": {"private_key": "0x" + "22" * 32}}))
    rpc = by_name(checks)["chain RPC"]
    assert rpc.outcome == "fail"
    assert url in rpc.detail and "unavailable" in rpc.detail
    assert "chain.rpc_url" in rpc.fix
    # Nothing further is tried without an RPC.
    assert "registry contract" not in by_name(checks)


@pytest.mark.chain
def test_wrong_registry_address_and_empty_wallet(chain_session: ChainSession) -> None:
    pauper = Account.create()
    config = make_config(chain=chain_settings(
        chain_session, registry_address="0x" + "42" * 20,
        wallet={"private_key": pauper.key.hex(), "max_gas_limit": 5_000_000}))
    checks = by_name(run_checks(config))
    assert checks["registry contract"].outcome == "fail"
    assert "chain.registry_address" in checks["registry contract"].fix
    assert checks["wallet balance"].outcome == "fail"
    assert pauper.address in checks["wallet balance"].fix


@pytest.fixture
def echo_spec(workflow_images: None) -> Iterator[dict[str, Any]]:
    spec = {"id": f"doctor-{uuid.uuid4().hex[:8]}", "image": ECHO_IMAGE,
            "port": free_service_port()}
    yield spec


@pytest.mark.docker
def test_docker_ports_free_clashing_and_ours(
        docker_client: docker.DockerClient, echo_spec: dict[str, Any]) -> None:
    config = make_config(containers=[echo_spec])
    checks = run_checks(config)
    names = by_name(checks)
    assert names["docker engine"].outcome == "ok"
    assert names[f"image {ECHO_IMAGE}"].outcome == "ok"
    port_check = f"port 127.0.0.1:{echo_spec['port']}"
    assert names[port_check].outcome == "ok"

    # Something else listens on the port: a failure that says how to find it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", echo_spec["port"]))
        squatter.listen()
        clash = by_name(run_checks(config))[port_check]
    assert clash.outcome == "fail"
    assert "containers[].port" in clash.fix and str(echo_spec["port"]) in clash.fix

    # Our own managed container holds it (a node is running): fine.
    container = docker_client.containers.run(
        ECHO_IMAGE, name=echo_spec["id"], detach=True, labels=managed_labels("doctor-test"),
        ports={"3000/tcp": ("127.0.0.1", echo_spec["port"])})
    try:
        ours = by_name(run_checks(config))[port_check]
    finally:
        container.remove(force=True)
    assert ours.outcome == "ok", ours
    assert "our running container" in ours.detail


@pytest.mark.docker
def test_missing_image_is_a_warning_with_the_pull_command(
        docker_client: docker.DockerClient) -> None:
    image = f"infernet-test/absent-{uuid.uuid4().hex[:8]}:latest"
    config = make_config(containers=[{"id": "absent", "image": image,
                                      "port": free_service_port()}])
    check = by_name(run_checks(config))[f"image {image}"]
    assert check.outcome == "warn"
    assert f"docker pull {image}" in check.fix


def test_unreachable_docker_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    config = make_config(containers=[{"id": "x", "image": ECHO_IMAGE,
                                      "port": free_service_port()}])
    engine = by_name(run_checks(config))["docker engine"]
    assert engine.outcome == "fail"
    assert "no-docker.sock" in engine.detail
    assert "DOCKER_HOST" in engine.fix

