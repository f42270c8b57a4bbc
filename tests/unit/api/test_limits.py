from __future__ import annotations

import io

import msgspec
import pytest
from falcon.testing import create_environ

from node.config.schema import RateLimit
from tests.unit.api.conftest import make_client
from tests.unit.api.test_jobs import JOB, last_call, post


def call_raw(app, environ):
    started = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: started.append(status)))
    return started[0], body


def test_rate_limit_headers_and_429_with_fake_clock(service, clock):
    client = make_client(service, clock, rate_limit=RateLimit(num_requests=2, period=10))
    first = client.simulate_get("/health")
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    assert first.headers["ratelimit-reset"] == "5"
    assert client.simulate_get("/health").headers["ratelimit-remaining"] == "0"
    refused = client.simulate_get("/health")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert refused.json == {"error": "Too many requests", "params": {"retry_after": 5}}
    assert refused.headers["ratelimit-remaining"] == "0"
    # Other endpoints and other clients have their own buckets.
    assert client.simulate_get("/info").status_code == 200
    assert client.simulate_get("/health", remote_addr="10.0.0.2").status_code == 200
    clock.now += 4.5
    assert client.simulate_get("/health").status_code == 429
    assert client.simulate_get("/health").headers["retry-after"] == "1"
    clock.now += 0.5
    assert client.simulate_get("/health").status_code == 200


def test_rate_limited_error_answers_carry_headers_and_status_is_exempt(service, clock):
    client = make_client(service, clock, rate_limit=RateLimit(num_requests=1, period=60))
    bad = client.simulate_post("/api/jobs", body=b"{")
    assert bad.status_code == 400 and bad.headers["ratelimit-limit"] == "1"
    assert post(client, JOB).status_code == 429
    body = msgspec.json.encode({"id": "x", "status": "running", "containers": []})
    for _ in range(3):
        resp = client.simulate_put("/api/status", body=body, remote_addr="127.0.0.1")
        assert resp.status_code == 200


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxy(service, clock):
    client = make_client(service, clock, rate_limit=RateLimit(num_requests=1, period=60))
    assert client.simulate_get("/health", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    # A fresh X-Forwarded-For does not buy a fresh bucket.
    resp = client.simulate_get("/health", headers={"X-Forwarded-For": "2.2.2.2"})
    assert resp.status_code == 429
    post(client, JOB, headers={"X-Forwarded-For": "3.3.3.3"}, remote_addr="10.5.5.5")
    assert last_call(service, "submit")[0] == "10.5.5.5"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("6.6.6.6, 203.0.113.9", "203.0.113.9"),  # left entries are client-written
        ("6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # 10.0.0.7: another trusted hop
        ("10.0.0.8, 10.0.0.7", "10.0.0.8"),
        ("garbage, 203.0.113.9", "203.0.113.9"),
        ("203.0.113.9, garbage", "10.0.0.1"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_trusted_proxy_uses_rightmost_untrusted_entry(service, forwarded, expected):
    client = make_client(service, trusted_proxies=("10.0.0.0/8",))
    post(client, JOB, remote_addr="10.0.0.1", headers={"X-Forwarded-For": forwarded})
    assert last_call(service, "submit")[0] == expected


def test_untrusted_peer_cannot_use_forwarded_for_even_with_proxies_configured(service):
    client = make_client(service, trusted_proxies=("10.0.0.0/8",))
    post(client, JOB, remote_addr="8.8.4.4", headers={"X-Forwarded-For": "10.0.0.3"})
    assert last_call(service, "submit")[0] == "8.8.4.4"


def test_body_over_limit_by_content_length_is_413(service):
    client = make_client(service, max_body_bytes=100)
    big = msgspec.json.encode({"containers": ["a"], "data": {"x": "y" * 200}})
    for path in ("/api/jobs", "/api/jobs/batch", "/api/jobs/stream"):
        resp = client.simulate_post(path, body=big)
        assert resp.status_code == 413, path
        assert resp.json["params"] == {"max_body_bytes": 100}
    resp = client.simulate_put("/api/status", body=big, remote_addr="127.0.0.1")
    assert resp.status_code == 413
    assert not service.calls
    assert post(client, JOB).status_code == 200


class ChunkedInput(io.RawIOBase):
    """A wsgi.input that hands out data in small pieces and counts what was read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.consumed = 0

    def read(self, size=-1):
        size = 7 if size is None or size < 0 else min(size, 7)
        chunk = self._data[self.consumed : self.consumed + size]
        self.consumed += len(chunk)
        return chunk


def chunked_environ(data: bytes) -> tuple[dict, ChunkedInput]:
    environ = create_environ(method="POST", path="/api/jobs", remote_addr="10.0.0.1")
    environ.pop("CONTENT_LENGTH", None)
    stream = ChunkedInput(data)
    environ["wsgi.input"] = stream
    environ["wsgi.input_terminated"] = True
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    return environ, stream


def test_chunked_body_without_content_length_is_capped(service):
    client = make_client(service, max_body_bytes=100)
    environ, stream = chunked_environ(
        b'{"containers": [], "data": {"x": "' + b"y" * 10_000 + b'"}}'
    )
    status, body = call_raw(client.app, environ)
    assert status.startswith("413")
    assert msgspec.json.decode(body)["params"] == {"max_body_bytes": 100}
    assert stream.consumed <= 101  # never reads (much) past the limit
    environ, _ = chunked_environ(msgspec.json.encode(JOB))
    status, body = call_raw(client.app, environ)
    assert status.startswith("200") and b"id" in body


def test_body_without_length_or_eof_marker_is_treated_as_empty(service):
    client = make_client(service)
    environ, _ = chunked_environ(msgspec.json.encode(JOB))
    del environ["wsgi.input_terminated"]
    status, body = call_raw(client.app, environ)
    assert status.startswith("400") and b"Malformed JSON" in body
