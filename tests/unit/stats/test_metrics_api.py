from __future__ import annotations

from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from actors.board import Board
from node.api.app import ApiDeps, create_app
from node.api.openapi import build_openapi
from node.config.schema import RateLimit, Server
from node.stats.exposition import LateMetrics, board_metrics
from tests.unit.api.fakes import FakeJobService

PEER = "198.51.100.7"


def client(metrics, num_requests: int = 1) -> testing.TestClient:
    # One request per minute per endpoint: /metrics must not be limited.
    server = Server(rate_limit=RateLimit(num_requests=num_requests, period=60))
    return testing.TestClient(create_app(ApiDeps(service=FakeJobService(), server=server,
                                                 metrics=metrics)))


def samples(body: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(body) for s in f.samples}


def test_metrics_reads_the_board_at_scrape_time_and_is_not_rate_limited():
    board = Board()
    c = client(board_metrics(board, node_id="n1", chain_enabled=False))
    before = c.simulate_get("/metrics", remote_addr=PEER)
    board.jobs_succeeded = 4
    after = c.simulate_get("/metrics", remote_addr=PEER)
    third = c.simulate_get("/metrics", remote_addr=PEER)
    assert [r.status_code for r in (before, after, third)] == [200, 200, 200]
    assert after.headers["content-type"].startswith("text/plain; version=")
    assert "ratelimit-limit" not in after.headers
    key = ("infernet_jobs_total", (("status", "success"),))
    assert samples(before.text)[key] == 0 and samples(after.text)[key] == 4
    assert "process_cpu_seconds_total" in after.text


def test_without_a_metrics_source_the_route_does_not_exist():
    resp = client(None).simulate_get("/metrics", remote_addr=PEER)
    assert resp.status_code == 404 and isinstance(resp.json["error"], str)


def test_late_metrics_is_503_until_bound_and_after_unbinding():
    late = LateMetrics()
    c = client(late)
    resp = c.simulate_get("/metrics", remote_addr=PEER)
    assert resp.status_code == 503 and "starts or stops" in resp.json["error"]
    late.bind(board_metrics(Board(), node_id="n1", chain_enabled=False))
    assert c.simulate_get("/metrics", remote_addr=PEER).status_code == 200
    late.bind(None)
    assert c.simulate_get("/metrics", remote_addr=PEER).status_code == 503


def test_openapi_documents_metrics():
    op = build_openapi()["paths"]["/metrics"]["get"]
    assert "text/plain" in op["responses"]["200"]["content"]
    assert {"200", "404", "503"} <= set(op["responses"])
