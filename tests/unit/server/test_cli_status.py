"""``infernet-node status`` against a real HTTP server speaking the node's endpoints,
and the image-pull progress display on a terminal and in a log."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from node.cli import main
from node.progress import PullProgress

INFO = {
    "version": "1.4.0",
    "containers": [{"id": "echo", "description": "", "external": True, "image": "x"}],
    "pending": {"offchain": 2, "onchain": 1},
    "chain": {"enabled": True, "address": "0xNode"},
}


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    restarts = Counter("infernet_container_restarts", "", ["container"], registry=registry)
    restarts.labels("echo").inc(3)
    restarts.labels("slow").inc(1)
    calls = Counter("infernet_container_calls", "", ["container", "outcome"], registry=registry)
    calls.labels("echo", "success").inc(40)
    calls.labels("echo", "failure").inc(2)
    Gauge("infernet_container_in_flight", "", ["container"], registry=registry).labels(
        "echo").set(5)
    up = Gauge("infernet_container_up", "", ["container"], registry=registry)
    up.labels("echo").set(1)
    up.labels("slow").set(0)
    jobs = Counter("infernet_jobs", "", ["status"], registry=registry)
    jobs.labels("success").inc(40)
    jobs.labels("failed").inc(2)
    Gauge("infernet_chain_head_block", "", registry=registry).set(1234)
    Gauge("infernet_chain_sync_lag_blocks", "", registry=registry).set(2)
    Gauge("infernet_wallet_balance_wei", "", registry=registry).set(1.5e18)
    Gauge("infernet_wallet_nonce", "", registry=registry).set(7)
    txs = Counter("infernet_transactions", "", ["status"], registry=registry)
    txs.labels("sent").inc(9)
    txs.labels("failed")
    return generate_latest(registry)


class FakeNode(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.routes.get(self.path, (404, b'{"error":"not found"}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def node_url() -> Iterator[tuple[str, dict[str, tuple[int, bytes]]]]:
    routes: dict[str, tuple[int, bytes]] = {
        "/health": (200, b'{"status":"healthy"}'),
        "/info": (200, json.dumps(INFO).encode()),
        "/metrics": (200, metrics_text()),
    }
    handler = type("Handler", (FakeNode,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()


def status(url: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["status", "--url", url])
    return code, out.getvalue(), err.getvalue()


def rows(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in output.splitlines() if line.strip()}


def test_table_from_info_and_metrics(node_url: tuple[str, Any]) -> None:
    url, _ = node_url
    code, out, _ = status(url)
    assert code == 0
    table = rows(out)
    assert table["CONTAINER"] == ["CONTAINER", "STATE", "RESTARTS", "IN", "FLIGHT",
                                  "SUCCEEDED", "FAILED"]
    assert table["echo"] == ["echo", "ready", "3", "5", "40", "2"]
    assert table["slow"][:4] == ["slow", "not", "ready", "1"]
    assert "running: offchain 2, onchain 1; finished: success 40, failed 2" in out
    assert "chain    head block 1234, 2 block(s) behind" in out
    assert "wallet   0xNode, balance 1.500000 ETH, next nonce 7" in out
    assert "tx       sent 9, failed 0" in out


def test_without_metrics_the_table_says_so(node_url: tuple[str, Any]) -> None:
    url, routes = node_url
    del routes["/metrics"]
    routes["/health"] = (503, b'{"status":"unhealthy"}')
    code, out, _ = status(url)
    assert code == 1  # unhealthy
    assert ": UNHEALTHY" in out.splitlines()[0]
    assert rows(out)["echo"] == ["echo", "ready", "-", "-", "-", "-"]
    assert "serves no /metrics" in out


def test_unreachable_node_is_a_clear_error() -> None:
    code, out, err = status("http://127.0.0.1:9")
    assert code == 1 and out == ""
    assert err.startswith("error: cannot reach the node at http://127.0.0.1:9")
    assert "is the node running?" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


PULL = [
    "latest Pulling from library/redis",
    "a1 Pulling fs layer",
    "a1 Downloading [=>      ] 1MB/9MB",
    "a1 Downloading [=====>  ] 6MB/9MB",
    "a1 Download complete",
    "a1 Pull complete",
    "Digest: sha256:abc",
]


def test_pull_progress_in_a_log_prints_status_changes_only() -> None:
    out = io.StringIO()
    progress = PullProgress("redis:7", out)
    for text in PULL:
        progress(text)
    progress.close()
    assert out.getvalue().splitlines() == [
        "redis:7 latest Pulling from library/redis",
        "redis:7 a1 Pulling fs layer",
        "redis:7 a1 Downloading",
        "redis:7 a1 Download complete",
        "redis:7 a1 Pull complete",
        "redis:7 Digest: sha256:abc",
    ]


def test_pull_progress_on_a_terminal_redraws_the_bar_in_place() -> None:
    out = Terminal()
    progress = PullProgress("redis:7", out)
    for text in PULL:
        progress(text)
    progress.close()
    lines = out.getvalue().split("\n")
    # Both Downloading updates share one terminal line, the second overwriting the first.
    downloading = [line for line in lines if "Downloading" in line]
    assert len(downloading) == 1
    assert downloading[0].count("\r\x1b[K") == 2
    assert downloading[0].endswith("6MB/9MB")
    assert out.getvalue().endswith("\n")
