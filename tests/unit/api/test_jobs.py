from __future__ import annotations

import msgspec
import pytest

from node.api.service import DelegatedSubmission, JobSubmission, Overloaded, Unavailable
from node.messages import ContainerError, ContainerOutput, JobRecord

JOB = {"containers": ["hello"], "data": {"x": [1, 2.5, "é"]}}
OWNER = "0x" + "ab" * 20
SUB = {
    "owner": OWNER,
    "active_at": 0,
    "period": 0,
    "frequency": 1,
    "redundancy": 1,
    "containers": "0x" + "AB" * 32,
    "lazy": False,
    "verifier": "0x" + "00" * 20,
    "payment_amount": 2**256 - 1,
    "payment_token": "0x" + "00" * 20,
    "wallet": "0x" + "cd" * 20,
}
R = 2**256 - 12345678901234567890
SIG = {"nonce": 1, "expiry": 2**32 - 1, "v": 27, "r": R, "s": 2**255 + 1}


def post(client, body, path="/api/jobs", **kw):
    return client.simulate_post(path, body=msgspec.json.encode(body), **kw)


def last_call(service, name):
    return next(args for n, args in reversed(service.calls) if n == name)


def test_submit_job_returns_id_and_passes_data_verbatim(client, service):
    raw = b'{"containers": ["hello"], "data": {"b": 1,  "a": [ 2 ]}, "requires_proof": null}'
    resp = client.simulate_post("/api/jobs", body=raw, remote_addr="10.1.2.3")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json == {"id": "job-1"}
    client_key, sub = last_call(service, "submit")
    assert client_key == "10.1.2.3"
    assert isinstance(sub, JobSubmission)
    assert sub.containers == ("hello",) and sub.requires_proof is False
    assert bytes(sub.data) == b'{"b": 1,  "a": [ 2 ]}'


def test_body_cannot_set_job_id_client_or_type(client, service):
    body = {**JOB, "id": "victim-job", "ip": "1.2.3.4", "type": "whatever"}
    resp = post(client, body, remote_addr="10.0.0.9")
    assert resp.status_code == 200 and resp.json["id"] != "victim-job"
    client_key, _ = last_call(service, "submit")
    assert client_key == "10.0.0.9"


def test_delegated_subscription_is_normalised_and_big_ints_exact(client, service):
    resp = post(client, {"subscription": SUB, "signature": {**SIG, "v": 0}, "data": {}})
    assert resp.status_code == 200 and resp.json == {}
    _, sub = last_call(service, "submit")
    assert isinstance(sub, DelegatedSubmission)
    s = msgspec.json.decode(sub.subscription)
    sig = msgspec.json.decode(sub.signature)
    assert s["payment_amount"] == 2**256 - 1
    assert sig["r"] == R and sig["s"] == 2**255 + 1 and sig["v"] == 27
    assert s["containers"] == "0x" + "ab" * 32
    assert s["owner"] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert s["wallet"] != SUB["wallet"] and s["wallet"].lower() == SUB["wallet"]
    assert b"2.5" not in bytes(sub.data)


def test_delegated_with_an_id_from_the_service(client, service):
    service.delegated_id = "sub-7"
    resp = post(client, {"subscription": SUB, "signature": SIG, "data": {}})
    assert resp.json == {"id": "sub-7"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"containers": [1], "data": {}}, "containers[0]", "expected str, got int"),
        ({"containers": ["a"]}, "data", "missing required field"),
        ({"containers": ["a"], "data": [1]}, "data", "expected object"),
        ({"containers": ["a"], "data": {}, "requires_proof": "yes"}, "requires_proof", None),
        ([JOB], "body", "expected object, got array"),
        ({"subscription": SUB, "data": {}}, "signature", "missing required field"),
        (
            {"subscription": {**SUB, "redundancy": 70000}, "signature": SIG, "data": {}},
            "subscription.redundancy",
            None,
        ),
        (
            {"subscription": {**SUB, "owner": "0x12"}, "signature": SIG, "data": {}},
            "subscription.owner",
            None,
        ),
        (
            {"subscription": {**SUB, "payment_amount": 2**256}, "signature": SIG, "data": {}},
            "subscription.payment_amount",
            None,
        ),
        (
            {"subscription": {**SUB, "active_at": True}, "signature": SIG, "data": {}},
            "subscription.active_at",
            None,
        ),
        ({"subscription": SUB, "signature": {**SIG, "v": 29}, "data": {}}, "signature.v", None),
        ({"subscription": SUB, "signature": {**SIG, "r": -1}, "data": {}}, "signature.r", None),
        ({"subscription": None, "signature": SIG, "data": {}}, "subscription", None),
    ],
)
def test_schema_errors_are_422_naming_the_field(client, service, body, field, message):
    resp = post(client, body)
    assert resp.status_code == 422, resp.text
    assert resp.json["params"] == {"field": field}
    assert resp.json["error"].startswith(f"Invalid request: {field}: ")
    if message:
        assert resp.json["error"] == f"Invalid request: {field}: {message}"
    assert not [c for c in service.calls if c[0] == "submit"]


@pytest.mark.parametrize("raw", [b"", b"{", b'{"containers": [}', b"nope", b'{"a":1} 2', b"\xff"])
def test_malformed_json_is_400(client, raw):
    resp = client.simulate_post("/api/jobs", body=raw)
    assert resp.status_code == 400
    assert resp.json["error"].startswith("Malformed JSON: ")


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", 200),
        ("application/vnd.infernet+json", 200),
        (None, 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
    ],
)
def test_content_type(client, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = client.simulate_post("/api/jobs", body=msgspec.json.encode(JOB), headers=headers)
    assert resp.status_code == status
    if status == 415:
        assert "error" in resp.json


def test_guardian_rejection_is_405_with_params(client, service):
    service.rejected_containers = {"hello"}
    resp = post(client, JOB)
    assert resp.status_code == 405
    assert resp.json == {"error": "Container not supported", "params": {"container": "hello"}}


def test_overloaded_is_429_with_retry_after(client, service):
    service.submit_error = Overloaded("queue full", retry_after=3)
    resp = post(client, JOB)
    assert resp.status_code == 429 and resp.headers["retry-after"] == "3"
    assert resp.json["error"] == "queue full"


def test_unavailable_is_503(client, service):
    service.submit_error = Unavailable("shutting down")
    resp = post(client, JOB)
    assert resp.status_code == 503 and resp.json["error"] == "shutting down"


def test_unexpected_error_is_a_generic_500_and_logged(client, service, caplog):
    service.submit_error = RuntimeError("secret internals")
    resp = post(client, JOB)
    assert resp.status_code == 500
    assert resp.json == {"error": "Internal server error"}
    assert "secret" not in resp.text
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


def _record(job_id, client, status="success", **kw):
    return JobRecord(id=job_id, client=client, containers=("a", "b"), status=status, **kw)


def test_get_results_with_and_without_intermediate(client, service):
    out = ContainerOutput(container="b", output=msgspec.Raw(b'{"k": [1, 2]}'))
    mid = ContainerError(container="a", error="boom")
    service.records[("1.1.1.1", "j1")] = _record("j1", "1.1.1.1", result=out, intermediate=(mid,))
    service.records[("2.2.2.2", "j2")] = _record("j2", "2.2.2.2")
    resp = client.simulate_get("/api/jobs?id=j1&id=j2&id=nope", remote_addr="1.1.1.1")
    assert resp.status_code == 200
    assert resp.json == [
        {"id": "j1", "status": "success", "result": {"container": "b", "output": {"k": [1, 2]}}}
    ]
    assert b'"output":{"k": [1, 2]}' in resp.content  # the container's bytes verbatim
    resp = client.simulate_get(
        "/api/jobs", params={"id": "j1", "intermediate": "true"}, remote_addr="1.1.1.1"
    )
    assert resp.json[0]["intermediate_results"] == [{"container": "a", "error": "boom"}]


def test_list_ids_with_pending_filter(client, service):
    service.records[("c", "run")] = _record("run", "c", status="running")
    service.records[("c", "done")] = _record("done", "c", status="failed")
    service.records[("other", "x")] = _record("x", "other")
    get = lambda q: client.simulate_get("/api/jobs", query_string=q, remote_addr="c").json  # noqa: E731
    assert sorted(get("")) == ["done", "run"]
    assert get("pending=true") == ["run"]
    assert get("pending=false") == ["done"]
    assert sorted(get("pending=maybe")) == ["done", "run"]


def test_submitted_job_is_visible_to_its_client_only(client):
    job_id = post(client, JOB, remote_addr="10.0.0.1").json["id"]
    mine = client.simulate_get("/api/jobs", params={"id": job_id}, remote_addr="10.0.0.1")
    theirs = client.simulate_get("/api/jobs", params={"id": job_id}, remote_addr="10.0.0.2")
    assert [r["status"] for r in mine.json] == ["running"]
    assert theirs.json == []


@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs/batch", "/api/jobs/stream"])
def test_absurdly_deep_json_is_400_not_500(client, path):
    for body in (b"[" * 100_000, b'{"containers": [], "data": ' + b'{"a":' * 100_000):
        resp = client.simulate_post(path, body=body)
        assert resp.status_code in (400, 422)
    resp = client.simulate_post(path, body=b'{"containers": [], "data": ' + b'{"a":' * 100_000)
    assert resp.status_code == 400
    assert resp.json["error"] in ("Malformed JSON: nested too deeply", "Expected a list")


def test_unencodable_guardian_params_still_give_json(client, service):
    from node.api.service import JobRejected

    service.submit_error = JobRejected("Chain not enabled", {"delegated_subscription": object()})
    resp = post(client, JOB)
    assert resp.status_code == 405
    assert resp.json["error"] == "Chain not enabled"
    assert isinstance(resp.json["params"]["delegated_subscription"], str)


def test_integral_floats_count_as_integers_but_fractions_do_not(client, service):
    body = {"subscription": {**SUB, "redundancy": 3.0}, "signature": {**SIG, "nonce": 126.0}}
    resp = post(client, {**body, "data": {}})
    assert resp.status_code == 200
    _, sub = last_call(service, "submit")
    assert msgspec.json.decode(sub.signature)["nonce"] == 126
    assert b'"redundancy":3,' in bytes(sub.subscription)
    resp = post(client, {**body, "signature": {**SIG, "nonce": 1.5}, "data": {}})
    assert resp.status_code == 422
    assert resp.json["error"] == "Invalid request: signature.nonce: expected an integer"
