from __future__ import annotations

import msgspec
from falcon.testing import create_environ

from node.api.batch import MAX_BATCH
from node.api.service import DelegatedSubmission, Overloaded
from tests.unit.api.test_jobs import JOB, SIG, SUB, last_call, post


def test_batch_mixed_results_in_input_order(client, service):
    service.rejected_containers = {"bad"}
    items = [
        JOB,
        {"containers": ["bad"], "data": {}},
        {"containers": [5], "data": {}},
        {"subscription": SUB, "signature": SIG, "data": {}},
        "not an object",
        {**JOB, "id": "forced"},
    ]
    resp = post(client, items, path="/api/jobs/batch")
    assert resp.status_code == 200
    body = resp.json
    assert len(body) == 6
    assert body[0] == {"id": "job-1"}
    assert body[1] == {"error": "Container not supported", "params": {"container": "bad"}}
    assert body[2] == {
        "error": "Invalid request: containers[0]: expected str, got int",
        "params": {"field": "containers[0]"},
    }
    assert body[3] == {}
    assert body[4]["params"] == {"field": "body"}
    assert body[5] == {"id": "job-2"}
    _, submitted = last_call(service, "submit_batch")
    assert len(submitted) == 4 and isinstance(submitted[2], DelegatedSubmission)


def test_batch_without_valid_items_does_not_call_the_service(client, service):
    resp = post(client, [{"containers": "x"}], path="/api/jobs/batch")
    assert resp.status_code == 200 and resp.json[0]["params"] == {"field": "containers"}
    assert not service.calls
    assert post(client, [], path="/api/jobs/batch").json == []


def test_batch_body_must_be_a_list(client):
    resp = post(client, JOB, path="/api/jobs/batch")
    assert resp.status_code == 400 and resp.json == {"error": "Expected a list"}
    resp = client.simulate_post("/api/jobs/batch", body=b"[{")
    assert resp.status_code == 400 and resp.json["error"].startswith("Malformed JSON")


def test_batch_accepts_any_content_type_like_the_original(client):
    resp = client.simulate_post(
        "/api/jobs/batch", body=msgspec.json.encode([JOB]), content_type="text/plain"
    )
    assert resp.status_code == 200 and "id" in resp.json[0]


def test_batch_length_is_capped(client, service):
    resp = post(client, [JOB] * (MAX_BATCH + 1), path="/api/jobs/batch")
    assert resp.status_code == 413 and resp.json["params"] == {"max_items": MAX_BATCH}
    assert not service.calls


def test_batch_overload_is_429(client, service):
    service.submit_error = Overloaded("full")
    assert post(client, [JOB], path="/api/jobs/batch").status_code == 429


def test_stream_sends_id_line_as_first_chunk_then_output(client, service):
    resp = post(client, JOB, path="/api/jobs/stream", remote_addr="10.9.9.9")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.content == b"job-1\nout-1out-2"
    client_key, _ = last_call(service, "stream")
    assert client_key == "10.9.9.9"
    assert service.closed_streams == ["job-1"]


def test_stream_chunks_are_separate_and_closed_on_early_exit(service, client):
    service.stream_chunks = [b"a", b"", b"b"]
    environ = create_environ(
        method="POST",
        path="/api/jobs/stream",
        body=msgspec.json.encode(JOB),
        remote_addr="10.0.0.1",
    )
    started = []
    iterable = client.app(environ, lambda status, headers, exc_info=None: started.append(status))
    chunks = iter(iterable)
    assert started == ["200 OK"]
    assert next(chunks) == b"job-1\n"
    assert next(chunks) == b"a"
    iterable.close()  # the client went away: the producer must be closed
    assert service.closed_streams == ["job-1"]


def test_stream_rejects_delegated_requests_with_405(client, service):
    resp = post(
        client, {"subscription": SUB, "signature": SIG, "data": {}}, path="/api/jobs/stream"
    )
    assert resp.status_code == 405
    assert resp.json == {"error": "Streaming only supported for OffchainJob requests."}
    assert not service.calls


def test_stream_guardian_rejection_and_schema_errors(client, service):
    service.rejected_containers = {"hello"}
    assert post(client, JOB, path="/api/jobs/stream").status_code == 405
    assert post(client, {"containers": []}, path="/api/jobs/stream").status_code == 422
    resp = client.simulate_post("/api/jobs/stream", body=b"{}", content_type="text/html")
    assert resp.status_code == 415
