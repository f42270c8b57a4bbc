"""``infernet-node doctor``: check what the node will need, online, and say what to fix.

``check-config`` validates the file offline; ``doctor`` goes further and talks
to the Docker engine, the chain's RPC and the wallet's account, and looks at
the container ports. Each check prints one line; a failure or warning comes
with the fix.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from node.cli.run import add_config_option
from node.config import ConfigError, LoadedConfig, load_config
from node.config.schema import Config, Container

Outcome = Literal["ok", "warn", "fail", "skip"]
_MARKS = {"ok": "[ ok ]", "warn": "[warn]", "fail": "[FAIL]", "skip": "[skip]"}
WEI_PER_ETH = 10**18
DOCKER_TIMEOUT = 10.0
RPC_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str
    fix: str = ""


def _eth(wei: int) -> str:
    return f"{wei / WEI_PER_ETH:.6f} ETH"


# --- Docker ---------------------------------------------------------------------


def managed_containers(config: Config) -> list[Container]:
    """Containers the node starts itself (the rest it only calls at their url)."""
    if not config.manage_containers:
        return []
    return [c for c in config.containers if c.image and not c.url]


def docker_engine(factory: Callable[[], Any] | None = None) -> tuple[Check, Any | None]:
    import docker
    import requests
    from docker.errors import DockerException

    from node.containers.docker_images import error_text

    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = (factory or (lambda: docker.from_env(timeout=DOCKER_TIMEOUT)))()
        client.ping()
        version = client.version().get("Version", "?")
    except (DockerException, requests.RequestException, OSError) as exc:
        text = error_text(exc)
        if "permission denied" in text.lower():
            fix = ("let this user use the socket: sudo usermod -aG docker $USER and log in "
                   "again (the systemd unit uses SupplementaryGroups=docker), or run as root")
        else:
            fix = ("start the engine (sudo systemctl start docker) or point DOCKER_HOST at it; "
                   "in Docker Compose, mount /var/run/docker.sock into the node container")
        return Check("docker engine", "fail", f"no answer at {where}: {text}", fix), None
    return Check("docker engine", "ok", f"Docker {version} at {where}"), client


def images(client: Any, containers: list[Container],
           pull: Callable[[str], None] | None = None) -> Iterator[Check]:
    """Each image present locally; ``pull`` (when given) fetches the missing ones."""
    from docker.errors import DockerException, ImageNotFound

    for c in containers:
        name = f"image {c.image}"
        try:
            client.images.get(c.image)
        except ImageNotFound:
            if pull is not None:
                yield _pulled(name, c, pull)
                continue
            yield Check(name, "warn", f"not on this host yet (container {c.id!r})",
                        f"the node pulls it at start; run `infernet-node doctor --pull` or "
                        f"`docker pull {c.image}` now to see whether the registry and the "
                        "config's docker credentials work")
        except DockerException as exc:
            yield Check(name, "fail", f"engine error: {exc}", "check the Docker engine")
        else:
            yield Check(name, "ok", f"present locally (container {c.id!r})")


def _pulled(name: str, c: Container, pull: Callable[[str], None]) -> Check:
    import requests
    from docker.errors import DockerException

    from node.containers.docker_images import PullFailed, error_text

    try:
        pull(c.image)
    except (PullFailed, DockerException, requests.RequestException) as exc:
        return Check(name, "fail", f"pull failed: {error_text(exc)}",
                     "check the image name and tag, that the registry is reachable from this "
                     "host, and the docker.username/docker.password in the config for a "
                     "private registry")
    return Check(name, "ok", f"pulled (container {c.id!r})")


def _port_free(host: str, port: int) -> tuple[bool, str]:
    bind_host = "" if host in ("0.0.0.0", "") else host
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind_host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False, "in use"
            return False, exc.strerror or str(exc)
    return True, ""


def _ours(client: Any | None, c: Container) -> bool:
    """Whether the container holding ``c.id``'s name is one this software manages."""
    if client is None:
        return False
    from docker.errors import DockerException

    from node.containers.docker_spec import LABEL_MANAGED

    try:
        found = client.containers.get(c.id)
    except DockerException:
        return False
    return bool(found.labels.get(LABEL_MANAGED) == "true" and found.status == "running")


def container_ports(client: Any | None, containers: list[Container]) -> Iterator[Check]:
    from node.containers.addressing import publish_host

    for c in containers:
        host = publish_host(c, os.environ)
        name = f"port {host}:{c.port}"
        free, why = _port_free(host, c.port)
        if free:
            yield Check(name, "ok", f"free for container {c.id!r}")
        elif why == "in use" and _ours(client, c):
            yield Check(name, "ok", f"held by our running container {c.id!r}")
        elif why == "in use":
            yield Check(name, "fail", f"in use by something other than container {c.id!r}",
                        f"stop what listens there (sudo ss -ltnp 'sport = :{c.port}'; "
                        f"docker ps --filter publish={c.port}) or change containers[].port "
                        f"of {c.id!r}")
        else:
            yield Check(name, "fail", f"cannot publish there: {why}",
                        f"set containers[].publish_host of {c.id!r} to an address of this host "
                        "(127.0.0.1, or 0.0.0.0 when the node itself runs in Docker)")


def server_port(config: Config) -> Check:
    server = config.server
    name = f"port {server.host}:{server.port} (REST API)"
    free, why = _port_free(server.host, server.port)
    if free:
        return Check(name, "ok", "free")
    if why == "in use" and _node_answers(server.port):
        return Check(name, "ok", "a node is already serving there")
    return Check(name, "fail", f"cannot listen: {why}",
                 f"stop what listens there (sudo ss -ltnp 'sport = :{server.port}') "
                 "or change server.port")


def _node_answers(port: int) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status in (200, 503)
    except OSError:
        return False
    finally:
        conn.close()


# --- chain ---------------------------------------------------------------------


def _rpc_fix(url: str) -> str:
    fix = (f"check chain.rpc_url ({url}): scheme, host and port, and that the RPC server "
           "runs and accepts eth_chainId")
    host = urllib.parse.urlsplit(url).hostname or ""
    if os.environ.get("RUNTIME") == "docker" and host in ("127.0.0.1", "localhost"):
        fix += ("; inside the node container 127.0.0.1 is the container itself: use "
                "host.docker.internal for a chain on the host")
    return fix


def chain(config: Config, rpc_factory: Callable[[str], Any] | None = None) -> Iterator[Check]:
    settings = config.chain
    if not settings.enabled:
        yield Check("chain", "skip", "chain.enabled is false: REST only")
        return
    from node.chain.rpc import HttpRpc
    from node.chain.rpc_types import RpcError

    url = settings.rpc_url or ""
    try:
        rpc = (rpc_factory or (lambda u: HttpRpc(u, timeout=RPC_TIMEOUT, max_connections=1)))(url)
    except ValueError as exc:
        yield Check("chain RPC", "fail", str(exc), _rpc_fix(url))
        return
    try:
        try:
            chain_id, head = rpc.chain_id(), rpc.block_number()
        except RpcError as exc:
            yield Check("chain RPC", "fail", f"{url} does not answer ({exc.kind}: {exc.message})",
                        _rpc_fix(url))
            return
        yield Check("chain RPC", "ok", f"{url}: chain id {chain_id}, head block {head}")
        yield from _registry(rpc, settings.registry_address or "", chain_id)
        yield from _wallet(rpc, config)
    except RpcError as exc:
        yield Check("chain RPC", "fail", f"{url} failed mid-check ({exc.kind}: {exc.message})",
                    _rpc_fix(url))
    finally:
        rpc.close()


def _registry(rpc: Any, address: str, chain_id: int) -> Iterator[Check]:
    code = rpc.request("eth_getCode", [address, "latest"])
    if not code or code in ("0x", "0x0"):
        yield Check("registry contract", "fail",
                    f"no contract code at chain.registry_address {address} on chain {chain_id}",
                    "set chain.registry_address to the Infernet Registry of this chain "
                    "(a typo, or an RPC for a different network)")
    else:
        yield Check("registry contract", "ok", f"code present at {address}")


def _wallet(rpc: Any, config: Config) -> Iterator[Check]:
    from eth_account import Account

    wallet = config.chain.wallet
    if wallet is None or not wallet.private_key:
        yield Check("wallet", "fail", "no chain.wallet.private_key",
                    "set chain.wallet.private_key (or INFERNET_PRIVATE_KEY)")
        return
    try:
        address = Account.from_key(wallet.private_key).address
    except (ValueError, TypeError):
        # Never echo the key itself.
        yield Check("wallet", "fail", "chain.wallet.private_key is not a valid private key",
                    "use a 32-byte hex key (0x followed by 64 hex digits)")
        return
    balance = rpc.balance(address)
    gas_price = rpc.gas_price()
    one_delivery = gas_price * wallet.max_gas_limit
    if balance == 0:
        yield Check("wallet balance", "fail", f"{address} has no funds",
                    f"send ETH to {address}: the node pays gas for every on-chain delivery")
    elif balance < one_delivery:
        yield Check("wallet balance", "warn",
                    f"{address} holds {_eth(balance)}, less than one delivery at the current "
                    f"gas price ({_eth(one_delivery)} for wallet.max_gas_limit "
                    f"{wallet.max_gas_limit})",
                    f"send ETH to {address} or lower chain.wallet.max_gas_limit")
    else:
        yield Check("wallet balance", "ok", f"{address} holds {_eth(balance)}")
    latest, pending = rpc.nonce(address, "latest"), rpc.nonce(address, "pending")
    if pending > latest:
        yield Check("wallet nonce", "warn",
                    f"{pending - latest} transaction(s) from {address} pending (nonce {latest})",
                    "if they stay pending the node replaces them with higher fees; a node "
                    "sharing this key elsewhere causes nonce clashes: give each node its own key")
    else:
        yield Check("wallet nonce", "ok", f"next nonce {latest}, nothing pending")


# --- running the checks ---------------------------------------------------------


def run_checks(config: Config, *, docker_factory: Callable[[], Any] | None = None,
               rpc_factory: Callable[[str], Any] | None = None,
               pull: bool = False) -> list[Check]:
    checks: list[Check] = []
    containers = managed_containers(config)
    client = None
    if containers:
        engine, client = docker_engine(docker_factory)
        checks.append(engine)
        if client is not None:
            checks.extend(images(client, containers, _puller(client, config) if pull else None))
        checks.extend(container_ports(client, containers))
    else:
        checks.append(Check("docker engine", "skip", "no containers for the node to manage"))
    checks.append(server_port(config))
    checks.extend(chain(config, rpc_factory))
    if client is not None:
        client.close()
    return checks


def _puller(client: Any, config: Config) -> Callable[[str], None]:
    from node.containers.docker_images import pull
    from node.progress import PullProgress

    def pull_one(image: str) -> None:
        progress = PullProgress(image)
        try:
            pull(client, image, config.docker, progress)
        finally:
            progress.close()
    return pull_one


def render(checks: list[Check], out: TextIO) -> None:
    for check in checks:
        out.write(f"{_MARKS[check.outcome]} {check.name}: {check.detail}\n")
        if check.fix:
            out.write(f"       fix: {check.fix}\n")
    failed = sum(c.outcome == "fail" for c in checks)
    warned = sum(c.outcome == "warn" for c in checks)
    out.write(f"{failed} failed, {warned} warning(s), "
              f"{sum(c.outcome == 'ok' for c in checks)} ok\n")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor", help="check Docker, RPC, registry, wallet and ports; say what to fix",
        description="Online checks of what the node needs (check-config is the offline one). "
                    "Exit 1 when a check fails.")
    add_config_option(p)
    p.add_argument("--pull", action="store_true",
                   help="pull missing workflow images now, with progress")
    p.set_defaults(handler=_doctor)


def load_or_report(path: str | None) -> LoadedConfig | None:
    """The config, or None after printing each error (by field) to stderr."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        return None


def _doctor(args: argparse.Namespace) -> int:
    loaded = load_or_report(args.config)
    if loaded is None:
        print("fix the config first (infernet-node check-config)", file=sys.stderr)
        return 1
    checks = run_checks(loaded.config, pull=args.pull)
    render(checks, sys.stdout)
    return 1 if any(c.outcome == "fail" for c in checks) else 0
