import json
import socket
import ssl
import subprocess
import threading
import time

import msgspec
import pytest

from node.containers.client import ContainerCallError, ContainerClient, ContainerEndpoint
from node.messages import ContainerError, ContainerOutput, JobLocation, StepRequest
from tests.unit.containers.http_stub import StubServer, json_reply

WAIT = 5.0  # upper bound for any event a test waits on


@pytest.fixture
def client():
    c = ContainerClient(max_connections_per_endpoint=4)
    yield c
    c.close()


def endpoint(server_or_url, bearer=None, timeout=5.0):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    return ContainerEndpoint(container="svc", base_url=url, bearer=bearer, timeout=timeout)


def step(data=b'{"prompt": "hi"}', proof=False):
    return StepRequest(
        job_id="job-1",
        step=0,
        container="svc",
        source=JobLocation.OFFCHAIN,
        destination=JobLocation.OFFCHAIN,
        data=msgspec.Raw(data),
        requires_proof=proof,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_call_posts_the_protocol_body_and_returns_output(client):
    with StubServer(json_reply(b'{"output": "ok"}')) as server:
        result = client.call(endpoint(server), step(proof=True))
    assert result == ContainerOutput(container="svc", output=msgspec.Raw(b'{"output": "ok"}'))
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/service_output")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "source": 1,
        "destination": 1,
        "data": {"prompt": "hi"},
        "requires_proof": True,
    }


def test_keep_alive_connection_is_reused(client):
    with StubServer(json_reply()) as server:
        results = [client.call(endpoint(server), step()) for _ in range(20)]
    assert all(isinstance(r, ContainerOutput) for r in results)
    assert len(server.requests) == 20
    assert server.connections == 1


def test_sockets_have_tcp_nodelay(client):
    with StubServer(json_reply()) as server:
        client.call(endpoint(server), step())
        (pool,) = client._pools.values()
        (conn,) = pool._idle
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_concurrent_calls_from_threads(client):
    with StubServer(json_reply()) as server:
        results = []
        lock = threading.Lock()

        def work():
            for _ in range(10):
                r = client.call(endpoint(server), step())
                with lock:
                    results.append(r)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
    assert len(results) == 40 and all(isinstance(r, ContainerOutput) for r in results)
    assert server.connections <= 4 + 4  # never one connection per call


def test_server_closing_after_response_gets_a_fresh_connection(client):
    def reply(handler, request):
        handler.send_body(200, b'{"n": %d}' % len(handler.server.requests), close=True)

    with StubServer(reply) as server:
        first = client.call(endpoint(server), step())
        second = client.call(endpoint(server), step())
    assert first == ContainerOutput(container="svc", output=msgspec.Raw(b'{"n": 1}'))
    assert second == ContainerOutput(container="svc", output=msgspec.Raw(b'{"n": 2}'))
    assert server.connections == 2


def test_stale_reused_connection_is_retried_once_on_a_fresh_one(client):
    # The second request on a kept-alive connection is dropped without an
    # answer, as when a server closes an idle connection just as we send.
    def reply(handler, request):
        if handler.requests_on_conn == 2:
            handler.close_connection = True
            return
        handler.send_body(200, b'{"conn": %d}' % handler.conn_no)

    with StubServer(reply) as server:
        first = client.call(endpoint(server), step())
        second = client.call(endpoint(server), step())
    assert first == ContainerOutput(container="svc", output=msgspec.Raw(b'{"conn": 1}'))
    assert second == ContainerOutput(container="svc", output=msgspec.Raw(b'{"conn": 2}'))
    assert server.connections == 2
    assert len(server.requests) == 3


def test_fresh_connection_dropped_without_answer_is_not_retried(client):
    def reply(handler, request):
        handler.close_connection = True

    with StubServer(reply) as server:
        result = client.call(endpoint(server), step())
    assert isinstance(result, ContainerError)
    assert "closed the connection" in result.error
    assert len(server.requests) == 1


def test_chunked_response_is_joined(client):
    def reply(handler, request):
        handler.start_chunked()
        for part in (b'{"output": ', b'"chun', b'ked"}'):
            handler.send_chunk(part)
        handler.send_chunk(b"")

    with StubServer(reply) as server:
        results = [client.call(endpoint(server), step()) for _ in range(2)]
    expected = ContainerOutput(container="svc", output=msgspec.Raw(b'{"output": "chunked"}'))
    assert results == [expected, expected]
    assert server.connections == 1


def test_non_2xx_becomes_error_with_text(client):
    def reply(handler, request):
        handler.send_body(500, b"workflow failed\n", content_type="text/plain")

    with StubServer(reply) as server:
        result = client.call(endpoint(server), step())
        again = client.call(endpoint(server), step())
    assert result == ContainerError(container="svc", error="HTTP 500: workflow failed")
    assert again == result
    assert server.connections == 1  # an error answer does not cost the connection


def test_non_json_content_type_becomes_error(client):
    def reply(handler, request):
        handler.send_body(200, b"<html>hi</html>", content_type="text/html; charset=utf-8")

    with StubServer(reply) as server:
        result = client.call(endpoint(server), step())
    assert isinstance(result, ContainerError) and "text/html" in result.error


def test_timeout_becomes_error(client):
    release = threading.Event()

    def reply(handler, request):
        release.wait(WAIT)
        handler.send_body(200, b"{}")

    with StubServer(reply) as server:
        try:
            result = client.call(endpoint(server, timeout=0.3), step())
        finally:
            release.set()
    assert isinstance(result, ContainerError)
    assert result.error.startswith("timed out after 0.3 s")


def test_connection_refused_becomes_error(client):
    url = f"http://127.0.0.1:{free_port()}"
    result = client.call(endpoint(url), step())
    assert result == ContainerError(container="svc", error=f"connection refused by {url}")


def test_bearer_header_sent_only_when_set(client):
    with StubServer(json_reply()) as server:
        client.call(endpoint(server, bearer="s3cret"), step())
        client.call(endpoint(server, bearer=None), step())
        client.call(endpoint(server, bearer=""), step())
    auth = [r.headers.get("authorization") for r in server.requests]
    assert auth == ["Bearer s3cret", None, None]


def test_bearer_not_in_endpoint_repr():
    assert "s3cret" not in repr(endpoint("http://127.0.0.1:1", bearer="s3cret"))


def test_base_url_path_prefix_and_trailing_slash(client):
    with StubServer(json_reply()) as server:
        client.call(endpoint(server.url + "/prefix/"), step())
    assert server.requests[0].path == "/prefix/service_output"


@pytest.mark.parametrize("url", ["localhost:3000", "ftp://host", "http://", "http://h:99999"])
def test_invalid_base_url_is_rejected_naming_it(url):
    with pytest.raises(ValueError, match="base_url"):
        endpoint(url)


# --- streaming ----------------------------------------------------------------


def test_stream_yields_chunks_separately_and_in_order(client):
    first_seen = threading.Event()

    def reply(handler, request):
        handler.start_chunked(content_type="text/plain")
        handler.send_chunk(b"one ")
        first_seen.wait(WAIT)  # the second chunk only exists once the first arrived
        handler.send_chunk(b"two ")
        handler.send_chunk(b"three")
        handler.send_chunk(b"")

    with StubServer(reply) as server:
        chunks = client.stream(endpoint(server), msgspec.Raw(b'{"p": 1}'))
        assert next(chunks) == b"one "
        first_seen.set()
        rest = b"".join(chunks)
    assert rest == b"two three"
    body = json.loads(server.requests[0].body)
    assert body == {"source": 1, "destination": 2, "data": {"p": 1}}


def test_stream_error_status_raises(client):
    def reply(handler, request):
        handler.send_body(400, b"cannot prove", content_type="text/plain")

    with (
        StubServer(reply) as server,
        pytest.raises(ContainerCallError, match="HTTP 400: cannot prove"),
    ):
        list(client.stream(endpoint(server), msgspec.Raw(b"{}")))


def test_stream_connection_refused_raises(client):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ContainerCallError, match="connection refused"):
        list(client.stream(endpoint(url), msgspec.Raw(b"{}")))


def test_stream_timeout_covers_the_whole_stream(client):
    release = threading.Event()

    def reply(handler, request):
        handler.start_chunked(content_type="text/plain")
        handler.send_chunk(b"partial")
        release.wait(WAIT)
        handler.send_chunk(b"")

    with StubServer(reply) as server:
        chunks = client.stream(endpoint(server, timeout=30), msgspec.Raw(b"{}"), timeout=0.3)
        try:
            assert next(chunks) == b"partial"
            with pytest.raises(ContainerCallError, match=r"timed out after 0\.3 s"):
                next(chunks)
        finally:
            release.set()


def test_stream_then_call_reuse_connection(client):
    def reply(handler, request):
        if request.body.startswith(b'{"source":1,"destination":2'):
            handler.send_body(200, b"streamed", content_type="text/plain")
        else:
            handler.send_body(200, b"{}")

    with StubServer(reply) as server:
        assert b"".join(client.stream(endpoint(server), msgspec.Raw(b"{}"))) == b"streamed"
        assert isinstance(client.call(endpoint(server), step()), ContainerOutput)
    assert server.connections == 1


# --- resources ------------------------------------------------------------------


def test_resources_get_with_encoded_model_id_and_bearer(client):
    def reply(handler, request):
        handler.send_body(200, b'{"supported": true}')

    with StubServer(reply) as server:
        plain = client.resources(endpoint(server, bearer="tok"), None)
        model = client.resources(endpoint(server), "org/model name&x")
    assert plain == {"supported": True} and model == {"supported": True}
    first, second = server.requests
    assert (first.method, first.path) == ("GET", "/service-resources")
    assert first.headers["authorization"] == "Bearer tok"
    assert second.path == "/service-resources?model_id=org%2Fmodel%20name%26x"
    assert "authorization" not in second.headers


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [(404, "application/json", b"{}"), (200, "text/plain", b"{}"), (200, "application/json", b"{")],
)
def test_resources_failures_give_none(client, status, content_type, body):
    def reply(handler, request):
        handler.send_body(status, body, content_type=content_type)

    with StubServer(reply) as server:
        assert client.resources(endpoint(server), None) is None


def test_resources_unreachable_gives_none(client):
    assert client.resources(endpoint(f"http://127.0.0.1:{free_port()}"), "m") is None


def test_overhead_per_call_stays_small_on_keep_alive(client):
    # The stub writes its response head and body in two segments without
    # TCP_NODELAY: a client that delays its ACK stalls ~40 ms per call.
    with StubServer(json_reply()) as server:
        client.call(endpoint(server), step())
        started = time.perf_counter()
        for _ in range(50):
            client.call(endpoint(server), step())
        per_call = (time.perf_counter() - started) / 50
    assert per_call < 0.010, f"{per_call * 1000:.1f} ms per call"
    assert server.connections == 1


def tls_server(tmp_path, reply, *, ip_in_certificate=True):
    """A StubServer speaking TLS with a fresh self-signed certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    san = ["-addext", "subjectAltName=IP:127.0.0.1"] if ip_in_certificate else []
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=127.0.0.1", *san, "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server = StubServer(reply)
    server.socket = server_tls.wrap_socket(server.socket, server_side=True)
    return server, str(cert)


def test_https_with_keep_alive(tmp_path):
    server, cafile = tls_server(tmp_path, json_reply(b'{"secure": true}'))
    tls_client = ContainerClient(ssl_context=ssl.create_default_context(cafile=cafile))
    with server:
        url = server.url.replace("http://", "https://")
        try:
            results = [tls_client.call(endpoint(url, bearer="b"), step()) for _ in range(3)]
        finally:
            tls_client.close()
    expected = ContainerOutput(container="svc", output=msgspec.Raw(b'{"secure": true}'))
    assert results == [expected] * 3
    assert server.connections == 1
    assert server.requests[0].headers["authorization"] == "Bearer b"


def test_https_with_untrusted_certificate_is_an_error(client, tmp_path):
    server, _ = tls_server(tmp_path, json_reply(), ip_in_certificate=False)
    with server:
        result = client.call(endpoint(server.url.replace("http://", "https://")), step())
    assert isinstance(result, ContainerError) and result.error.startswith("TLS error")
