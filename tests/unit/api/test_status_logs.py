from __future__ import annotations

import msgspec
import pytest

from tests.unit.api.conftest import make_client

STATUS = {
    "id": "j-9",
    "status": "success",
    "containers": ["c1"],
    "data": {},
    "requires_proof": False,
}


def put(client, body, remote_addr="127.0.0.1", **kw):
    return client.simulate_put(
        "/api/status", body=msgspec.json.encode(body), remote_addr=remote_addr, **kw
    )


@pytest.mark.parametrize(
    "addr", ["127.0.0.1", "::1", "172.17.0.5", "172.31.255.1", "::ffff:127.0.0.1"]
)
def test_status_from_local_callers_is_recorded(client, service, addr):
    resp = put(client, {**STATUS, "ip": "8.8.8.8"}, remote_addr=addr)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json" and resp.json is None
    name, (caller, job_id, status, containers) = service.calls[-1]
    assert (name, job_id, status, containers) == ("record_status", "j-9", "success", ["c1"])
    assert caller == addr.removeprefix("::ffff:")
    assert "ratelimit-limit" not in resp.headers  # not rate limited


@pytest.mark.parametrize("addr", ["192.168.1.10", "10.0.0.1", "8.8.8.8", "172.32.0.1"])
def test_status_from_elsewhere_is_403(client, service, addr):
    resp = put(client, STATUS, remote_addr=addr)
    assert resp.status_code == 403 and resp.json == {"error": "Unauthorized"}
    assert not service.calls


def test_status_spoofed_forwarded_for_does_not_make_a_caller_local(client):
    resp = put(client, STATUS, remote_addr="8.8.8.8", headers={"X-Forwarded-For": "127.0.0.1"})
    assert resp.status_code == 403


def test_status_body_errors(client, service):
    resp = put(client, {**STATUS, "status": "failure"})
    assert resp.status_code == 400 and resp.json == {"error": "Status is invalid"}
    resp = put(client, {"id": "x", "status": "running"})
    assert resp.status_code == 422 and resp.json["params"] == {"field": "containers"}
    resp = client.simulate_put("/api/status", body=b"{", remote_addr="127.0.0.1")
    assert resp.status_code == 400
    assert not service.calls


def test_status_accepts_any_content_type_like_the_original(client, service):
    resp = put(client, STATUS, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200


def test_logs_stream_for_local_callers(client, service):
    service.logs["c1"] = [b"line 1\n", b"line 2\n"]
    resp = client.simulate_get(
        "/api/containers/c1/logs",
        query_string="tail=10&since=1700000000.5&follow=true",
        remote_addr="172.18.0.2",
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.content == b"line 1\nline 2\n"
    assert service.calls[-1] == ("container_logs", ("c1", 10, 1700000000.5, True))
    client.simulate_get("/api/containers/c1/logs", remote_addr="127.0.0.1")
    assert service.calls[-1] == ("container_logs", ("c1", None, None, False))


def test_logs_errors(client, service):
    resp = client.simulate_get("/api/containers/nope/logs", remote_addr="127.0.0.1")
    assert resp.status_code == 404
    assert resp.json == {"error": "Unknown container", "params": {"container": "nope"}}
    resp = client.simulate_get("/api/containers/c1/logs", remote_addr="192.168.0.3")
    assert resp.status_code == 403
    for query, field in [
        ("tail=-1", "tail"),
        ("tail=x", "tail"),
        ("since=nan", "since"),
        ("since=abc", "since"),
        ("follow=yes", "follow"),
    ]:
        resp = client.simulate_get(
            "/api/containers/c1/logs", query_string=query, remote_addr="127.0.0.1"
        )
        assert resp.status_code == 400, query
        assert resp.json["params"] == {"field": field}


def test_locality_uses_the_resolved_client_behind_a_trusted_proxy(service):
    # A proxy on this host forwards for a remote client: that client is not local.
    client = make_client(service, trusted_proxies=("127.0.0.1/32",))
    resp = put(client, STATUS, remote_addr="127.0.0.1", headers={"X-Forwarded-For": "8.8.8.8"})
    assert resp.status_code == 403
    resp = put(client, STATUS, remote_addr="127.0.0.1")
    assert resp.status_code == 200
