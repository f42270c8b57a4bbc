"""``infernet-node status``: what a running node is doing, as a table.

Reads the node over its REST API: ``/health``, ``/info`` and, when served,
``/metrics`` (Prometheus text: restarts, job totals, chain head, sync lag,
wallet). Without ``/metrics`` the table shows what ``/info`` knows.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from node.cli.run import add_config_option

HTTP_TIMEOUT = 10.0
WEI_PER_ETH = 10**18

Samples = dict[str, list[tuple[dict[str, str], float]]]


class NodeUnreachable(Exception):
    pass


@dataclass
class NodeView:
    """Everything ``status`` read from the node."""

    url: str
    healthy: bool
    info: dict[str, Any]
    metrics: Samples | None = None  # None: the node serves no /metrics
    configured: tuple[str, ...] = field(default=())  # container ids from the local config


def _get(url: str, path: str) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=HTTP_TIMEOUT)
    try:
        conn.request("GET", parts.path.rstrip("/") + path)
        response = conn.getresponse()
        return response.status, response.read()
    except OSError as exc:
        raise NodeUnreachable(f"cannot reach the node at {url}: {exc}") from exc
    finally:
        conn.close()


def parse_metrics(text: str) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def read_node(url: str, configured: Sequence[str] = ()) -> NodeView:
    health, _ = _get(url, "/health")
    status, body = _get(url, "/info")
    if status != 200:
        raise NodeUnreachable(f"GET {url}/info answered HTTP {status}")
    metrics_status, metrics_body = _get(url, "/metrics")
    metrics = parse_metrics(metrics_body.decode()) if metrics_status == 200 else None
    return NodeView(url=url, healthy=health == 200, info=json.loads(body), metrics=metrics,
                    configured=tuple(configured))


# --- rendering -------------------------------------------------------------------


def _value(view: NodeView, name: str, **labels: str) -> float | None:
    if view.metrics is None:
        return None
    for sample_labels, value in view.metrics.get(name, []):
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


def _count(value: float | None) -> str:
    return "-" if value is None else str(int(value))


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def container_rows(view: NodeView) -> list[list[str]]:
    ready = {c["id"] for c in view.info.get("containers", [])}
    names = list(dict.fromkeys([*view.configured, *sorted(ready)]))
    if view.metrics is not None:
        names += sorted({labels["container"] for labels, _ in
                         view.metrics.get("infernet_container_up", [])} - set(names))
    rows = [["CONTAINER", "STATE", "RESTARTS", "IN FLIGHT", "SUCCEEDED", "FAILED"]]
    for name in names:
        rows.append([
            name, "ready" if name in ready else "not ready",
            _count(_value(view, "infernet_container_restarts_total", container=name)),
            _count(_value(view, "infernet_container_in_flight", container=name)),
            _count(_value(view, "infernet_container_calls_total", container=name,
                          outcome="success")),
            _count(_value(view, "infernet_container_calls_total", container=name,
                          outcome="failure")),
        ])
    return rows


def _chain_lines(view: NodeView) -> list[str]:
    chain = view.info.get("chain") or {}
    if not chain.get("enabled"):
        return ["chain    disabled (REST only)"]
    head = _value(view, "infernet_chain_head_block")
    lag = _value(view, "infernet_chain_sync_lag_blocks")
    sync = "unknown" if head is None else f"head block {int(head)}, " + (
        "lag unknown" if lag is None else f"{int(lag)} block(s) behind")
    balance = _value(view, "infernet_wallet_balance_wei")
    nonce = _value(view, "infernet_wallet_nonce")
    wallet = chain.get("address") or "?"
    if balance is not None:
        wallet += f", balance {balance / WEI_PER_ETH:.6f} ETH"
    if nonce is not None:
        wallet += f", next nonce {int(nonce)}"
    sent = _value(view, "infernet_transactions_total", status="sent")
    failed = _value(view, "infernet_transactions_total", status="failed")
    lines = [f"chain    {sync}", f"wallet   {wallet}"]
    if sent is not None:
        lines.append(f"tx       sent {_count(sent)}, failed {_count(failed)}")
    return lines


def render(view: NodeView, out: TextIO) -> None:
    state = "healthy" if view.healthy else "UNHEALTHY"
    out.write(f"infernet-node {view.info.get('version', '?')} at {view.url}: {state}\n\n")
    for line in table(container_rows(view)):
        out.write(line + "\n")
    pending = view.info.get("pending", {})
    jobs = (f"jobs     running: offchain {pending.get('offchain', 0)}, "
            f"onchain {pending.get('onchain', 0)}")
    succeeded = _value(view, "infernet_jobs_total", status="success")
    if succeeded is not None:
        failed = _value(view, "infernet_jobs_total", status="failed")
        jobs += f"; finished: success {_count(succeeded)}, failed {_count(failed)}"
    out.write("\n" + jobs + "\n")
    for line in _chain_lines(view):
        out.write(line + "\n")
    if view.metrics is None:
        out.write("\n(the node serves no /metrics: restarts, totals and chain figures "
                  "are not shown)\n")


# --- image pull progress -----------------------------------------------------------



# --- command ---------------------------------------------------------------------


def _node_url(args: argparse.Namespace) -> tuple[str, tuple[str, ...]]:
    if args.url:
        return args.url.rstrip("/"), ()
    from node.cli.doctor import load_or_report

    if args.config is None and not os.path.exists(os.environ.get("INFERNET_CONFIG_PATH",
                                                                 "config.json")):
        return "http://127.0.0.1:4000", ()  # no config at hand: the default address
    loaded = load_or_report(args.config)
    if loaded is None:
        raise NodeUnreachable("cannot find the node without a valid config (or pass --url)")
    server = loaded.config.server
    host = "127.0.0.1" if server.host in ("0.0.0.0", "", "::") else server.host
    return f"http://{host}:{server.port}", tuple(c.id for c in loaded.config.containers)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="show what the running node is doing",
                       description="Containers, jobs, chain sync and wallet of the running "
                                   "node, read from its REST API. Exit 1 if it is unreachable "
                                   "or unhealthy.")
    add_config_option(p)
    p.add_argument("--url", default=None,
                   help="the node's base URL (default: from the config's server.port)")
    p.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    try:
        url, configured = _node_url(args)
        view = read_node(url, configured)
    except NodeUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("is the node running? (systemctl status infernet-node, or docker ps)",
              file=sys.stderr)
        return 1
    render(view, sys.stdout)
    return 0 if view.healthy else 1

