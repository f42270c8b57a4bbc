"""A local development chain: anvil plus our deployed contract suite.

`main()` backs `infernet-node devchain`: it starts anvil (shipped by the npm package
in deploy/chain), deploys the suite deterministically, funds a node key and a
consumer key, writes the config fragment the node needs, and runs until SIGINT or
SIGTERM. `--deploy-only` deploys against an RPC that is already running and exits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from eth_account import Account
from web3 import Web3

from node.chain.deployment import DeploymentError, deploy_suite, setup_accounts

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL_ENV = "INFERNET_ANVIL"
DEFAULT_PORT = 8545
READY_TIMEOUT = 20.0

# anvil's well-known dev keys (mnemonic "test test ... junk"): public, funded only on
# local chains.
ANVIL_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
DEPLOYER_KEY = ANVIL_KEYS[0]
NODE_KEY = ANVIL_KEYS[1]
CONSUMER_KEY = ANVIL_KEYS[2]


class AnvilError(RuntimeError):
    """anvil could not be found or did not come up."""


def find_anvil() -> str:
    """The anvil binary: $INFERNET_ANVIL, else the one npm installed under deploy/chain,
    else `anvil` on PATH."""
    override = os.environ.get(ANVIL_ENV)
    if override:
        return override
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    # The repo checkout this module runs from, else (installed as a package) the
    # working directory.
    for root in (REPO_ROOT, Path.cwd()):
        bundled = (root / "deploy" / "chain" / "node_modules" / "@foundry-rs"
                   / f"anvil-{system}-{machine}" / "bin" / "anvil")
        if bundled.is_file():
            return str(bundled)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise AnvilError(f"anvil not found: run .ci/install-chain.sh or set {ANVIL_ENV}")


class AnvilProcess:
    """One anvil process on a loopback port. Its state is dumped to `state_path` on
    stop and loaded again on start, so stop() then start() resumes the same chain."""

    def __init__(self, port: int, *, host: str = "127.0.0.1", block_time: float | None = None,
                 state_path: Path | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.port = port
        self.host = host
        self.block_time = block_time
        self.state_path = state_path
        self.extra_args = extra_args
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        args = [find_anvil(), "--host", self.host, "--port", str(self.port), "--quiet"]
        if self.block_time is not None:
            args += ["--block-time", str(self.block_time)]
        if self.state_path is not None:
            args += ["--state", str(self.state_path)]
        args += list(self.extra_args)
        fd, log_name = tempfile.mkstemp(prefix=f"anvil-{self.port}-", suffix=".log")
        self.log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log_file:
            self._process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
        self._wait_ready()
        log.info("anvil started", extra={"rpc_url": self.rpc_url, "pid": self._process.pid})

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            self._discard_log()
            return
        # SIGTERM lets anvil dump its state before exiting.
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
        self._discard_log()
        log.info("anvil stopped", extra={"rpc_url": self.rpc_url, "pid": process.pid})

    def _wait_ready(self) -> None:
        w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                message = f"anvil exited with {self._process.returncode}: {self._log_tail()}"
                self.stop()
                raise AnvilError(message)
            if w3.is_connected():
                return
            time.sleep(0.05)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.rpc_url} within {READY_TIMEOUT}s")

    def _discard_log(self) -> None:
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-2000:]


def config_fragment(rpc_url: str, node_key: str, consumer_key: str, addresses: dict[str, str],
                    wallets: dict[str, str]) -> dict[str, Any]:
    """The keys the node needs (rpc_url, registry_address, private_key) plus every
    deployed address, for scripts and tests."""
    return {
        "rpc_url": rpc_url,
        "registry_address": addresses["registry"],
        "private_key": node_key,
        "node_address": Account.from_key(node_key).address,
        "consumer_private_key": consumer_key,
        "consumer_address": Account.from_key(consumer_key).address,
        "payment_address": wallets["node_wallet"],
        "consumer_wallet": wallets["consumer_wallet"],
        "contracts": addresses,
    }


def deploy_devchain(rpc_url: str, *, node_manager: bool = False, deployer_key: str = DEPLOYER_KEY,
                    node_key: str = NODE_KEY, consumer_key: str = CONSUMER_KEY) -> dict[str, Any]:
    """Deploys the suite and prepares the accounts on the chain at `rpc_url`; returns the
    config fragment."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    deployment = deploy_suite(w3, deployer_key, node_manager=node_manager)
    wallets = setup_accounts(w3, deployment, deployer_key, node_key, consumer_key)
    return config_fragment(rpc_url, node_key, consumer_key, deployment.addresses(),
                           dataclasses.asdict(wallets))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infernet-node devchain",
        description="Start anvil with the Infernet contracts deployed and dev keys funded.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="anvil port (default 8545)")
    parser.add_argument("--host", default="127.0.0.1", help="address anvil listens on")
    parser.add_argument("--block-time", type=float, default=None,
                        help="mine a block every N seconds instead of per transaction")
    parser.add_argument("--node-manager", action="store_true",
                        help="deploy the NodeManager: only registered, active nodes may deliver")
    parser.add_argument("--write-config", metavar="PATH", default=None,
                        help="write the config fragment JSON here (default: print it)")
    parser.add_argument("--deploy-only", action="store_true",
                        help="deploy against an already running RPC (--rpc-url) and exit")
    parser.add_argument("--rpc-url", default=None,
                        help="RPC for --deploy-only (default http://127.0.0.1:PORT)")
    parser.add_argument("--node-key", default=NODE_KEY, help="node private key (default anvil #1)")
    parser.add_argument("--consumer-key", default=CONSUMER_KEY,
                        help="consumer private key (default anvil #2)")
    return parser


def _emit(fragment: dict[str, Any], path: str | None) -> None:
    text = json.dumps(fragment, indent=2) + "\n"
    if path is None:
        print(text, end="", flush=True)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    log.info("devchain config written", extra={"path": str(target)})


def _valid_key(value: str) -> bool:
    try:
        Account.from_key(value)
    except (ValueError, TypeError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    for field in ("node_key", "consumer_key"):
        if not _valid_key(getattr(args, field)):
            parser.error(f"--{field.replace('_', '-')} is not a valid 32-byte hex private key")

    if args.deploy_only:
        rpc_url = args.rpc_url or f"http://{args.host}:{args.port}"
        try:
            fragment = deploy_devchain(rpc_url, node_manager=args.node_manager,
                                       node_key=args.node_key, consumer_key=args.consumer_key)
        except (DeploymentError, OSError) as exc:
            log.error("devchain deployment failed", extra={"rpc_url": rpc_url, "error": str(exc)})
            print(f"devchain: deployment failed: {exc}", file=sys.stderr)
            return 1
        _emit(fragment, args.write_config)
        return 0

    anvil = AnvilProcess(args.port, host=args.host, block_time=args.block_time)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        anvil.start()
        fragment = deploy_devchain(anvil.rpc_url, node_manager=args.node_manager,
                                   node_key=args.node_key, consumer_key=args.consumer_key)
        _emit(fragment, args.write_config)
        log.info("devchain ready", extra={"rpc_url": anvil.rpc_url,
                                          "registry": fragment["registry_address"]})
        while not stop.wait(0.5):
            if not anvil.running:
                log.error("anvil exited unexpectedly", extra={"rpc_url": anvil.rpc_url})
                return 1
        return 0
    except (AnvilError, DeploymentError, OSError) as exc:
        log.error("devchain failed", extra={"error": str(exc)})
        print(f"devchain: {exc}", file=sys.stderr)
        return 1
    finally:
        anvil.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    raise SystemExit(main())
