"""On-chain delivery benchmark: a real node process (``python -m node run``, echo workflow
server, trail_head_blocks 0) serving callback requests on anvil. Prints one table.

    python -m bench.chain_delivery [--samples 15] [--samples-blocks 8] [--bursts 50,100,500]
                                   [--subscriptions 10000] [--sync-period 0.1]

Measured: request-mined -> delivery-mined latency (automine, 1 s blocks, and with 10,000
subscriptions tracked), bursts (time to all delivered, deliveries per block, failed
transactions), RPC calls per delivery (at a logging JSON-RPC proxy between the node and
anvil), gas used against the gas limit the node set, and SIGTERM-to-exit time.
Everything runs on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import logging
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python bench/chain_delivery.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from bench.offchain_table import Row, below, render
from bench.rpc_proxy import RpcCounts, RpcProxy
from node.chain.deployment import ARTIFACTS_DIR, Sender, contract_at
from node.chain.devchain import ANVIL_KEYS, DEPLOYER_KEY
from node.chain.seed_load import CallbackRequest, create_subscriptions, send_callback_requests
from tests.chain_support import ChainSession, deployed_chain
from tests.integration.node_chain.support import ZERO, chain_config
from tests.node_support import NodeProcess, free_service_port, running_node
from tests.workflow_support import external_containers, workflow_servers

CONTAINER = "echo"
REQUESTER_KEY = ANVIL_KEYS[5]
FULFILLED = "0x" + keccak(text="SubscriptionFulfilled(uint32,address)").hex()
CREATED = "0x" + keccak(text="SubscriptionCreated(uint32)").hex()
# Seeded subscriptions that never fall due during the run: the first interval opens in a day.
FAR_PERIOD = 86_400
CALLS_TARGET = 6.0
# What the poller and the wallet ask per new block, whatever is delivered in it.
BLOCK_FOLLOWING = ("eth_blockNumber", "eth_getBlockByNumber", "eth_getLogs",
                   "eth_getTransactionCount")
SHUTDOWN_TARGET_S = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.chain_delivery",
                                description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=15, help="latency samples under automine")
    p.add_argument("--samples-blocks", type=int, default=8,
                   help="latency samples with 1 s blocks (and with the seeded subscriptions)")
    p.add_argument("--bursts", default="50,100,500",
                   help="burst sizes sent with 1 s blocks (comma-separated)")
    p.add_argument("--automine-burst", type=int, default=50)
    p.add_argument("--subscriptions", type=int, default=10_000,
                   help="subscriptions seeded (tracked, none due) before the last phase; 0 skips")
    p.add_argument("--sync-period", type=float, default=0.1,
                   help="chain.snapshot_sync.sync_period of the node (s)")
    p.add_argument("--idle-seconds", type=float, default=3.0,
                   help="each of the two idle windows (before and after the automine "
                        "deliveries) measuring the node's polling rate, subtracted per delivery")
    p.add_argument("--timeout", type=float, default=60.0, help="bound on each wait (s)")
    p.add_argument("--jitter", type=float, default=1.0,
                   help="random pause of up to this many seconds before each latency sample")
    p.add_argument("--seed", type=int, default=1, help="seed of the pauses")
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep the nodes' data and logs (node-*/node-output.log) here")
    return p.parse_args(argv)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


class BlockClock:
    """Notes when each block is first seen (``eth_blockNumber`` every few ms, straight to
    anvil, not through the proxy): request and delivery blocks are timed the same way."""

    def __init__(self, rpc_url: str, interval: float = 0.005) -> None:
        host, port = rpc_url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self._interval = interval
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last = self._head()
        self._thread = threading.Thread(target=self._run, daemon=True, name="block-clock")

    def _head(self) -> int:
        body = b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'
        self._conn.request("POST", "/", body, {"Content-Type": "application/json"})
        return int(json.loads(self._conn.getresponse().read())["result"], 16)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                head = self._head()
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                self._conn.close()
                continue
            if head > self._last:
                now = time.monotonic()
                with self._lock:
                    for number in range(self._last + 1, head + 1):
                        self._seen[number] = now
                self._last = head

    def seen(self, block: int, timeout: float = 10.0) -> float:
        def look() -> float | None:
            with self._lock:
                return self._seen.get(block)
        found: float = wait_for(look, timeout, f"block {block} to be seen", 0.005)
        return found

    @property
    def head(self) -> int:
        return self._last

    @contextmanager
    def running(self) -> Iterator[BlockClock]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(5)
            self._conn.close()


@dataclass
class Bench:
    """The chain, the proxy in front of it and the block clock, shared by all phases."""

    session: ChainSession
    proxy: RpcProxy
    clock: BlockClock
    args: argparse.Namespace
    rows: list[Row] = field(default_factory=list)

    def rpc(self, method: str, params: list[Any]) -> Any:
        return self.session.rpc(method, params)

    def logs(self, topics: list[Any], from_block: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.rpc("eth_getLogs", [{
            "address": self.session.deployment.coordinator, "topics": topics,
            "fromBlock": hex(from_block), "toBlock": "latest"}])
        return found

    def deliveries(self, from_block: int) -> dict[int, int]:
        """Subscription id -> block of this node's delivery, from ``from_block`` on."""
        node_topic = "0x" + self.session.node[2:].lower().rjust(64, "0")
        return {int(e["topics"][1], 16): int(e["blockNumber"], 16)
                for e in self.logs([FULFILLED, None, node_topic], from_block)}

    def delivery_of(self, sub_id: int, from_block: int) -> int | None:
        return self.deliveries(from_block).get(sub_id)

    def created(self, from_block: int) -> dict[int, int]:
        """Subscription id -> block it was created in."""
        return {int(e["topics"][1], 16): int(e["blockNumber"], 16)
                for e in self.logs([CREATED], from_block)}

    def set_block_time(self, seconds: int) -> None:
        if seconds:
            self.rpc("evm_setIntervalMining", [seconds])
        else:
            self.rpc("evm_setAutomine", [True])

    @contextmanager
    def node(self, workdir: Path) -> Iterator[NodeProcess]:
        workdir.mkdir(parents=True)
        with workflow_servers({CONTAINER: "echo"}) as servers:
            config = chain_config(
                self.session, external_containers(servers), trail_head_blocks=0,
                snapshot_sync={"sleep": 0.1, "batch_size": 500,
                               "sync_period": self.args.sync_period})
            config["chain"]["rpc_url"] = self.proxy.url
            config["log"] = {"path": None, "level": "info"}
            with running_node(workdir, config, free_service_port(), timeout=120) as node:
                wait_for(lambda: node.events("snapshot sync done"), self.args.timeout,
                         "the snapshot sync", 0.1)
                yield node




# --- latency --------------------------------------------------------------------------


@dataclass
class Latency:
    seconds: list[float]
    blocks: list[int]
    counts: RpcCounts
    window: float


def settle(bench: Bench, node: NodeProcess, decided: int) -> None:
    """Wait until the node's wallet has decided ``decided`` transactions in all (it reads
    each receipt after the delivery is mined): the RPC count then holds every call a
    delivery costs."""
    wait_for(lambda: len(node.events("transaction decided")) >= decided, bench.args.timeout,
             f"{decided} transactions decided", 0.05)


def latency(bench: Bench, node: NodeProcess, samples: int) -> Latency:
    """``samples`` requests one after the other, each sent once the previous one is
    delivered; RPC traffic through the proxy is counted over the whole run."""
    session = bench.session
    consumer = contract_at(session.w3, "ExampleCallbackConsumer",
                           session.deployment.callback_consumer)
    sender = Sender(session.w3, REQUESTER_KEY)
    fn = consumer.functions.requestCompute(CONTAINER, b"latency", 1, ZERO, 0, ZERO, ZERO)
    gas = fn.estimate_gas({"from": sender.address}) * 3 // 2
    seconds: list[float] = []
    blocks: list[int] = []
    decided = len(node.events("transaction decided"))
    # A request sent right after the previous delivery was seen would land at the same
    # phase of the node's polling loop every time; a random pause spreads the phases.
    rng = random.Random(bench.args.seed)
    before, started = bench.proxy.counts(), time.monotonic()
    for _ in range(samples):
        time.sleep(rng.uniform(0, bench.args.jitter))
        receipt = session.w3.eth.wait_for_transaction_receipt(
            HexBytes(sender.call(fn, gas=gas)), timeout=bench.args.timeout)
        request_block = int(receipt["blockNumber"])
        sub_id = next(iter(bench.created(request_block)))
        delivered = wait_for(partial(bench.delivery_of, sub_id, request_block),
                             bench.args.timeout, f"delivery of subscription {sub_id}")
        seconds.append(bench.clock.seen(delivered) - bench.clock.seen(request_block))
        blocks.append(delivered - request_block)
    settle(bench, node, decided + samples)
    window = time.monotonic() - started
    return Latency(seconds, blocks, bench.proxy.counts() - before, window)


@functools.cache
def function_names() -> dict[str, str]:
    """4-byte selector (0x-hex) -> function name, over every compiled contract."""
    names = {}
    for path in ARTIFACTS_DIR.glob("*.json"):
        for entry in json.loads(path.read_text())["abi"]:
            if entry["type"] == "function":
                types = ",".join(i["type"] for i in entry["inputs"])
                selector = function_signature_to_4byte_selector(f"{entry['name']}({types})")
                names["0x" + selector.hex()] = entry["name"]  # the address tells the contract
    return names


@dataclass
class Idle:
    """Traffic while nothing happens (head polling only) and the seconds it took."""

    counts: RpcCounts = field(default_factory=RpcCounts)
    seconds: float = 0.0

    def measure(self, bench: Bench) -> None:
        """Adds one idle window: one before and one after the deliveries halve the error
        of a poll more or less in a window."""
        before, started = bench.proxy.counts(), time.monotonic()
        time.sleep(bench.args.idle_seconds)
        self.counts = self.counts + (bench.proxy.counts() - before)
        self.seconds += time.monotonic() - started


def latency_rows(label: str, result: Latency, original: str = "-") -> list[Row]:
    s, b = result.seconds, [float(x) for x in result.blocks]
    say(f"latency {label}: seconds {[round(x, 3) for x in s]} blocks {result.blocks}")
    return [
        Row(f"request mined -> delivery mined, {label}: median", statistics.median(s), "s",
            original=original),
        Row(f"request mined -> delivery mined, {label}: p90", pct(s, 90), "s"),
        Row(f"blocks after the request, {label}: median / p90 = "
            f"{statistics.median(b):g} / {pct(b, 90):g}; max", max(b), "blocks",
            "1 (next block)", check=lambda v: v <= 1),
    ]


def rpc_rows(result: Latency, idle_window: Idle) -> list[Row]:
    """Per delivery under automine: blocks come only from requests and deliveries, so the
    idle windows (no blocks) hold nothing but head polling, which is taken off."""
    n = len(result.seconds)
    idle, idle_seconds = idle_window.counts, idle_window.seconds
    scale = result.window / idle_seconds  # idle polling during the delivery window
    net_calls = (result.counts.calls - idle.calls * scale) / n
    net_http = (result.counts.http_requests - idle.http_requests * scale) / n
    say(f"RPC automine: {result.counts.calls} calls / {result.counts.http_requests} HTTP in "
        f"{result.window:.1f} s for {n} deliveries; idle {idle.calls} calls in "
        f"{idle_seconds:.1f} s ({dict(idle.by_method)}); by method {dict(result.counts.by_method)}")
    for target, count in sorted(result.counts.by_target.items(), key=lambda kv: -kv[1]):
        method, to, selector = target.split(" ")
        say(f"  {method} {function_names().get(selector, selector)} @ {to}: "
            f"{count / n:.2f} per delivery")
    rows = [
        Row("JSON-RPC calls per delivery, automine, one at a time (net of idle head polling)",
            net_calls, "calls", f"<= {CALLS_TARGET:g}", "33 (12 eth_chainId)",
            lambda v: v <= CALLS_TARGET),
        Row(f"  HTTP requests per delivery, same run (JSON-RPC batches count once; gross "
            f"{result.counts.http_requests / n:.1f})", net_http, "req"),
    ]
    net_of = {m: (c - idle.by_method.get(m, 0) * scale) / n
              for m, c in result.counts.by_method.items()}
    rows.append(Row("  of which following new blocks (two blocks per delivery here)",
                    sum(net_of.get(m, 0.0) for m in BLOCK_FOLLOWING), "calls"))
    for method, net in sorted(net_of.items(), key=lambda kv: -kv[1]):
        if round(net, 2):
            rows.append(Row(f"    {method}", net, "calls"))
    return rows


# --- bursts ---------------------------------------------------------------------------


@dataclass
class Burst:
    size: int
    seconds: float
    per_block: list[int]
    after_last_request: int
    max_after_request: int
    failed: int
    replaced: int
    counts: RpcCounts
    delivery_blocks: tuple[int, int]


def burst(bench: Bench, node: NodeProcess, size: int) -> Burst:
    start_block = int(bench.rpc("eth_blockNumber", []), 16)
    decided_before = len(node.events("transaction decided"))
    replaced_before = len(node.events("replacing a stuck transaction"))
    before, started = bench.proxy.counts(), time.monotonic()
    result = send_callback_requests(bench.session.w3, bench.session.deployment, REQUESTER_KEY,
                                    size, CallbackRequest(container_id=CONTAINER,
                                                          inputs=b"burst"))
    ids = set(result.ids)
    wait_for(lambda: ids <= set(bench.deliveries(start_block)), bench.args.timeout + size / 10,
             f"{size} deliveries", 0.1)
    delivered = {k: v for k, v in bench.deliveries(start_block).items() if k in ids}
    created = {k: v for k, v in bench.created(start_block).items() if k in ids}
    last = max(delivered.values())
    seconds = bench.clock.seen(last) - started
    settle(bench, node, decided_before + size)
    counts = bench.proxy.counts() - before
    per_block = Counter(delivered.values())
    decided = node.events("transaction decided")[decided_before:]
    failed_logged = sum(1 for e in decided if e.get("status") != "mined")
    failed_chain = len(failed_transactions(bench, start_block, last))
    replaced = len(node.events("replacing a stuck transaction")) - replaced_before
    requested = sorted(Counter(created.values()).items())
    say(f"burst {size}: {seconds:.2f} s, requests in blocks {requested}, "
        f"deliveries per block {sorted(per_block.items())}, failed (log/chain) "
        f"{failed_logged}/{failed_chain}, {counts.calls} calls / {counts.http_requests} HTTP, "
        f"per delivery {per_delivery(counts, size)}")
    return Burst(size, seconds, [per_block[b] for b in sorted(per_block)],
                 last - max(created.values()),
                 max(delivered[i] - created[i] for i in ids), max(failed_logged, failed_chain),
                 replaced, counts, (min(delivered.values()), last))


def per_delivery(counts: RpcCounts, deliveries: int) -> dict[str, float]:
    return {m: round(c / deliveries, 2) for m, c in counts.by_method.most_common()}


def failed_transactions(bench: Bench, first: int, last: int) -> list[str]:
    """Hashes of this node's transactions that reverted in blocks first..last."""
    node = bench.session.node.lower()
    failed = []
    for number in range(first, last + 1):
        for receipt in bench.rpc("eth_getBlockReceipts", [hex(number)]) or []:
            if receipt["from"].lower() == node and int(receipt["status"], 16) == 0:
                failed.append(receipt["transactionHash"])
    return failed


def burst_rows(b: Burst, blocks: bool) -> list[Row]:
    shape = "/".join(str(n) for n in b.per_block)
    if not blocks:
        return [Row(f"burst of {b.size}, automine: time to all delivered", b.seconds, "s",
                    original="3.2-4.0 s (50, one delivery per block)")]
    rows = [Row(f"burst of {b.size}, 1 s blocks: time to all delivered "
                f"(deliveries per block {shape})", b.seconds, "s",
                original="3 blocks (13/17/20) for 50" if b.size == 50 else "-"),
            Row(f"burst of {b.size}, 1 s blocks: blocks from a request to its delivery, max",
                b.max_after_request, "blocks",
                "1 (next block)" if b.size == 50 else "-",
                check=(lambda v: v <= 1) if b.size == 50 else None),
            Row(f"burst of {b.size}, 1 s blocks: failed transactions", b.failed, "tx", "0",
                check=lambda v: v == 0),
            Row(f"burst of {b.size}, 1 s blocks: JSON-RPC calls per delivery, all node traffic "
                f"(HTTP requests {b.counts.http_requests / b.size:.1f})",
                b.counts.calls / b.size, "calls", f"<= {CALLS_TARGET:g}",
                check=lambda v: v <= CALLS_TARGET),
            Row(f"burst of {b.size}, 1 s blocks: transactions replaced as stuck",
                b.replaced, "tx")]
    return rows


# --- gas ------------------------------------------------------------------------------


@dataclass
class Gas:
    used: list[int]
    limits: list[int]
    out_of_gas: int
    reverted: int


def gas(bench: Bench, first: int, last: int) -> Gas:
    """Gas used against the gas limit of every transaction the node sent in first..last."""
    node = bench.session.node.lower()
    used, limits, out_of_gas, reverted = [], [], 0, 0
    for number in range(first, last + 1):
        block = bench.rpc("eth_getBlockByNumber", [hex(number), True])
        limit_of = {tx["hash"]: int(tx["gas"], 16) for tx in block["transactions"]
                    if tx["from"].lower() == node}
        if not limit_of:
            continue
        for receipt in bench.rpc("eth_getBlockReceipts", [hex(number)]):
            limit = limit_of.get(receipt["transactionHash"])
            if limit is None:
                continue
            spent = int(receipt["gasUsed"], 16)
            used.append(spent)
            limits.append(limit)
            if int(receipt["status"], 16) == 0:
                reverted += 1
                out_of_gas += spent >= limit * 63 // 64  # all (or all but 1/64) burnt
    return Gas(used, limits, out_of_gas, reverted)


def gas_rows(g: Gas) -> list[Row]:
    if not g.used:
        return []  # no transaction in the 1 s-block phase (all its phases skipped)
    margins = [100 * (lim / used - 1) for used, lim in zip(g.used, g.limits, strict=True)]
    say(f"gas: {len(g.used)} node transactions, used {min(g.used)}-{max(g.used)}, limits "
        f"{min(g.limits)}-{max(g.limits)}, reverted {g.reverted}")
    return [
        Row(f"gas used per delivery, median ({len(g.used)} transactions)",
            statistics.median(g.used), "gas"),
        Row("gas limit set by the node, median", statistics.median(g.limits), "gas"),
        Row("safety margin (limit / used - 1), min", min(margins), "%", "> 0 %",
            original="none (ran out of gas)", check=lambda v: v > 0),
        Row("deliveries that ran out of gas", g.out_of_gas, "tx", "0",
            original="some, several per block", check=lambda v: v == 0),
    ]


# --- shutdown -------------------------------------------------------------------------


def sigterm_seconds(node: NodeProcess, timeout: float) -> float:
    started = time.monotonic()
    node.signal(signal.SIGTERM)
    code = node.wait_exit(timeout)
    seconds = time.monotonic() - started
    say(f"SIGTERM -> exit {code} in {seconds:.2f} s")
    return seconds


def shutdown_row(label: str, seconds: float) -> Row:
    return Row(f"shutdown, SIGTERM to exit: {label}", seconds, "s",
               f"< {SHUTDOWN_TARGET_S:g} s", "up to 49 s", below(SHUTDOWN_TARGET_S))


# --- the run --------------------------------------------------------------------------


@contextmanager
def fresh_bench(args: argparse.Namespace) -> Iterator[Bench]:
    """A new chain (automine), the proxy in front of it and the block clock."""
    with deployed_chain() as session, RpcProxy(session.anvil.rpc_url) as proxy, \
            BlockClock(session.anvil.rpc_url).running() as clock:
        yield Bench(session, proxy, clock, args)


def delivery_phases(bench: Bench, workdir: Path) -> None:
    args = bench.args
    with bench.node(workdir / "node-a") as node:
        say("phase 1: automine")
        idle = Idle()
        idle.measure(bench)
        auto = latency(bench, node, args.samples)
        idle.measure(bench)
        bench.rows += latency_rows("automine", auto, "0.20-0.30 s")
        bench.rows += rpc_rows(auto, idle)
        if args.automine_burst:
            bench.rows += burst_rows(burst(bench, node, args.automine_burst), blocks=False)

        say("phase 2: 1 s blocks")
        first_block = bench.clock.head + 1
        bench.set_block_time(1)
        if args.samples_blocks:
            bench.rows += latency_rows("1 s blocks", latency(bench, node, args.samples_blocks))
        for size in (int(x) for x in args.bursts.split(",") if x.strip()):
            bench.rows += burst_rows(burst(bench, node, size), blocks=True)
        bench.rows += gas_rows(gas(bench, first_block, bench.clock.head))
        time.sleep(2 * max(1.0, args.sync_period))  # idle: nothing pending
        bench.rows.append(shutdown_row("chain enabled, idle",
                                       sigterm_seconds(node, args.timeout)))


def tracked_phase(bench: Bench, workdir: Path) -> None:
    """Seeded subscriptions (tracked, none due for a day) on a chain of their own, so
    that nothing left over from the other phases is due when the node starts."""
    args, session = bench.args, bench.session
    n = f"{args.subscriptions:,}"
    say(f"phase 3: {n} subscriptions tracked")
    seeded = time.monotonic()
    create_subscriptions(session.w3, session.deployment, DEPLOYER_KEY, args.subscriptions,
                         container_id=CONTAINER, frequency=10, period=FAR_PERIOD)
    say(f"seeded in {time.monotonic() - seeded:.1f} s")
    bench.set_block_time(1)
    started = time.monotonic()
    with bench.node(workdir / "node-b") as node:
        bench.rows.append(Row(f"node start to snapshot sync done, {n} subscriptions",
                              time.monotonic() - started, "s", original="9.2 s (sync alone)"))
        if args.samples_blocks:
            loaded = latency(bench, node, args.samples_blocks)
            bench.rows += latency_rows(f"1 s blocks, {n} tracked", loaded, "83 s")[::2]
        sent_before = len(node.events("transaction sent"))
        send_callback_requests(session.w3, session.deployment, REQUESTER_KEY, 50,
                               CallbackRequest(container_id=CONTAINER, inputs=b"term"))
        wait_for(lambda: len(node.events("transaction sent")) > sent_before,
                 args.timeout, "a delivery in flight", 0.01)
        in_flight = (len(node.events("interval due; job started"))
                     - len(node.events("transaction decided")))
        bench.rows.append(shutdown_row(
            f"{in_flight} deliveries in flight, {n} tracked",
            sigterm_seconds(node, args.timeout)))


def run(args: argparse.Namespace, workdir: Path) -> list[Row]:
    started = time.monotonic()
    rows: list[Row] = []
    with fresh_bench(args) as bench:
        delivery_phases(bench, workdir)
        rows += bench.rows
    if args.subscriptions:
        with fresh_bench(args) as bench:
            tracked_phase(bench, workdir)
            rows += bench.rows
    say(f"whole run {time.monotonic() - started:.0f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.workdir is not None:
        rows = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
            rows = run(args, Path(tmp))
    print(render(rows))
    return 0 if all(r.verdict() in ("PASS", "info") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
