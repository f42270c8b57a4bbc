from __future__ import annotations

import msgspec

from node.api.openapi import build_openapi


def test_health(client, service):
    resp = client.simulate_get("/health")
    assert resp.status_code == 200 and resp.json == {"status": "healthy"}
    service.healthy = False
    resp = client.simulate_get("/health")
    assert resp.status_code == 503 and resp.json == {"status": "unhealthy"}


def test_info_and_resources(client, service):
    assert client.simulate_get("/info").json["version"] == "1.4.0"
    assert client.simulate_get("/resources").json == {"echo": {"model_id": None}}
    resp = client.simulate_get("/resources", params={"model_id": "m/1"})
    assert resp.json == {"echo": {"model_id": "m/1"}}


def test_unknown_path_and_wrong_method_are_json(client):
    resp = client.simulate_get("/nope")
    assert resp.status_code == 404 and isinstance(resp.json["error"], str)
    resp = client.simulate_delete("/api/jobs")
    assert resp.status_code == 405 and isinstance(resp.json["error"], str)
    assert set(resp.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_missing_peer_address_is_400(client):
    resp = client.simulate_get("/health", remote_addr="")
    assert resp.status_code == 400
    assert resp.json == {"error": "Could not get client IP address"}


def test_openapi_document_lists_every_route(service):
    from node.api.app import ApiDeps, create_app
    from node.config.schema import Server
    from node.stats.exposition import LateMetrics
    from tests.unit.api.conftest import Client

    client = Client(create_app(ApiDeps(service=service, server=Server(),
                                       metrics=LateMetrics())))
    resp = client.simulate_get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.1")
    expected = {
        ("/health", "get"),
        ("/info", "get"),
        ("/resources", "get"),
        ("/api/jobs", "post"),
        ("/api/jobs", "get"),
        ("/api/jobs/batch", "post"),
        ("/api/jobs/stream", "post"),
        ("/api/status", "put"),
        ("/api/containers/{container_id}/logs", "get"),
        ("/openapi.json", "get"),
        ("/metrics", "get"),
    }
    listed = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert listed == expected
    # Every route the app really has is documented.
    routes = {node.uri_template for node in _walk(client.app._router._roots)}
    assert routes == {path for path, _ in expected}
    # Every $ref resolves.
    refs = set(_refs(doc))
    assert refs and all(r.split("/")[-1] in doc["components"]["schemas"] for r in refs)
    assert doc == msgspec.json.decode(msgspec.json.encode(build_openapi()))


def _walk(nodes):
    for node in nodes:
        if node.resource is not None:
            yield node
        yield from _walk(node.children)


def _refs(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _refs(v)
