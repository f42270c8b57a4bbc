"""Subscription poller benchmark: startup sync of many existing subscriptions, and
the steady RPC rate with all of them tracked and none due. Prints one table.

    python -m bench.chain_sync [--subscriptions 10000] [--batch-size 500] [--sleep 0.1]
                               [--steady-seconds 10] [--block-time 1]

anvil runs on a loopback port of its own; requests are counted at the poller's
HttpRpc (its ``calls`` counter), so only the poller's traffic is measured.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pykka

if __package__ in (None, ""):  # ``python bench/chain_sync.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.base import ChildContext, SupervisedActor
from actors.chain_poller import SubscriptionPollerActor
from actors.directory import Directory
from bench.offchain_table import Row, below, render
from node.chain.deployment import Deployment, deploy_suite
from node.chain.devchain import DEPLOYER_KEY, AnvilProcess
from node.chain.poller_messages import SnapshotDone, SubscriptionsSeen
from node.chain.rpc import HttpRpc
from node.chain.seed_load import create_subscriptions
from node.messages import ChildFailed
from node.store.chain_db import ChainDb
from tests.chain_support import free_port

CONSUMER = "bench-consumer"
SYNC_TARGET_S = 3.0
RATE_TARGET = 5.0
ORIGINAL_SYNC_S = 9.2
ORIGINAL_RATE = 585.0
# Subscriptions that never fall due during the run: the first interval opens in a day.
PERIOD = 86_400


class _Counter(SupervisedActor):
    """Consumer stand-in: counts subscriptions and notes when the sync is done."""

    def __init__(self, ctx: ChildContext, done: threading.Event) -> None:
        super().__init__(ctx)
        self.done = done
        self.seen = 0

    def handle(self, message: Any) -> Any:
        if isinstance(message, SubscriptionsSeen):
            self.seen += len(message.subscriptions)
        elif isinstance(message, SnapshotDone):
            self.done.set()
        return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.chain_sync",
                                description=__doc__.splitlines()[0])
    p.add_argument("--subscriptions", type=int, default=10_000)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--sleep", type=float, default=0.1, help="snapshot_sync.sleep (s)")
    p.add_argument("--sync-period", type=float, default=0.5, help="snapshot_sync.sync_period (s)")
    p.add_argument("--trail-head-blocks", type=int, default=1)
    p.add_argument("--steady-seconds", type=float, default=10.0)
    p.add_argument("--block-time", type=int, default=1,
                   help="anvil interval mining during the steady phase (s; 0 = automine)")
    p.add_argument("--max-seconds", type=float, default=120.0,
                   help="bound on the sync phase (default 120)")
    return p.parse_args(argv)


def seed(url: str, count: int) -> Deployment:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    deployment = deploy_suite(w3, DEPLOYER_KEY)
    started = time.monotonic()
    create_subscriptions(w3, deployment, DEPLOYER_KEY, count, frequency=10, period=PERIOD)
    print(f"seeded {count} subscriptions in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return deployment


def run(args: argparse.Namespace) -> list[Row]:
    failures: list[ChildFailed] = []
    directory = Directory()
    done = threading.Event()
    anvil = AnvilProcess(free_port())
    anvil.start()
    try:
        deployment = seed(anvil.rpc_url, args.subscriptions)
        with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
            db = ChainDb(str(Path(tmp) / "chain.sqlite3"))
            consumer = _Counter.start(ChildContext(CONSUMER, 1, directory, failures.append), done)
            directory.register(CONSUMER, consumer)
            rpc = HttpRpc(anvil.rpc_url)
            started = time.monotonic()
            poller = SubscriptionPollerActor.start(
                ChildContext("subscription-poller", 1, directory, failures.append),
                rpc=rpc, coordinator_address=deployment.coordinator,
                reader_address=deployment.reader, db=db, consumer=CONSUMER,
                trail_head_blocks=args.trail_head_blocks, batch_size=args.batch_size,
                starting_sub_id=0, batch_sleep=args.sleep, sync_period=args.sync_period)
            synced = done.wait(args.max_seconds)
            sync_seconds = time.monotonic() - started if synced else float("nan")
            if failures:
                raise SystemExit(f"poller failed: {failures}")
            print(f"snapshot sync: {sync_seconds:.2f} s", file=sys.stderr)

            if args.block_time > 0:
                rpc.request("evm_setIntervalMining", [args.block_time])
                rpc.request("evm_mine", [])
            time.sleep(max(args.sync_period, args.block_time) * 2)  # settle into steady state
            calls, begun = rpc.calls, time.monotonic()
            time.sleep(args.steady_seconds)  # the measuring window
            rate = (rpc.calls - calls) / (time.monotonic() - begun)
            print(f"steady state: {rate:.2f} req/s, by method {rpc.calls_by_method}",
                  file=sys.stderr)
            poller.stop(timeout=10)
            pykka.ActorRegistry.stop_all(timeout=10)
            db.close()
    finally:
        anvil.stop()
    n = f"{args.subscriptions:,}"
    return [
        Row(f"snapshot sync of {n} subscriptions (batch {args.batch_size}, sleep {args.sleep})",
            sync_seconds, "s", f"< {SYNC_TARGET_S:g} s", f"{ORIGINAL_SYNC_S} s",
            below(SYNC_TARGET_S)),
        Row(f"steady RPC rate, {n} tracked, none due ({_blocks(args.block_time)})",
            rate, "req/s", f"< {RATE_TARGET:g} req/s", f"{ORIGINAL_RATE:g} req/s",
            below(RATE_TARGET)),
    ]


def _blocks(block_time: int) -> str:
    return f"{block_time:g} s blocks" if block_time > 0 else "no new blocks"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rows = run(parse_args(argv))
    print(render(rows))
    return 0 if all(r.verdict() == "PASS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
