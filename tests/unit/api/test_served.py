"""The app behind a real gunicorn with the node's gthread worker: chunk boundaries and chunked
uploads."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import msgspec
import pytest
import requests

from tests.gunicorn_support import served_by_gunicorn


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with served_by_gunicorn("tests.unit.api.served_app:app", "--threads", "4") as (_, url):
        yield url


def _raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _chunks(body: bytes) -> list[bytes]:
    """Split an HTTP/1.1 chunked body into its chunks."""
    out = []
    while True:
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return out
        out.append(body[:size])
        body = body[size + 2 :]


def test_stream_id_is_its_own_http_chunk(base_url):
    payload = msgspec.json.encode({"containers": ["c"], "data": {}})
    head = (
        b"POST /api/jobs/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload)
    )
    response = _raw_request(base_url, head + payload)
    headers, body = response.split(b"\r\n\r\n", 1)
    assert headers.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in headers.lower()
    chunks = _chunks(body)
    assert chunks[0].endswith(b"\n") and chunks[0].startswith(b"job-")
    assert chunks[1:] == [b"first output", b"second output"]


def test_chunked_upload_over_the_limit_is_413(base_url):
    def gen():
        for _ in range(100):
            yield b'{"containers": ["a"], "data": {"pad": "' + b"x" * 50 + b'"}}'

    resp = requests.post(
        f"{base_url}/api/jobs", data=gen(), timeout=10, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.json()["params"] == {"max_body_bytes": 1000}


def test_chunked_upload_within_the_limit_works(base_url):
    resp = requests.post(
        f"{base_url}/api/jobs",
        data=iter([b'{"containers": ["a"],', b' "data": {}}']),
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 200 and resp.json()["id"].startswith("job-")


def test_peer_address_and_locality_through_gunicorn(base_url):
    resp = requests.get(f"{base_url}/api/containers/c1/logs", timeout=10)
    assert resp.status_code == 200 and resp.text == "log line\n"
    resp = requests.put(
        f"{base_url}/api/status",
        timeout=10,
        json={"id": "j", "status": "running", "containers": []},
    )
    assert resp.status_code == 200 and resp.json() is None
