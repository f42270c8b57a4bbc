"""GET /openapi.json: an OpenAPI 3.1 description of exactly what this app accepts and sends.

Built in Python (no YAML dependency) so the limits quoted here are the ones the
code enforces.
"""

from __future__ import annotations

from typing import Any

import falcon

from node import __version__
from node.api.batch import MAX_BATCH
from node.api.respond import JSON, encode_json
from node.api.schemas import UINT16_MAX, UINT32_MAX, UINT256_MAX

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], props: dict[str, Schema], **extra: Any) -> Schema:
    return {"type": "object", "required": required, "properties": props, **extra}


def _uint(maximum: int) -> Schema:
    return {"type": "integer", "minimum": 0, "maximum": maximum}


_ADDRESS: Schema = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
_NULLABLE_BOOL: Schema = {"type": ["boolean", "null"]}


def _schemas() -> dict[str, Schema]:
    return {
        "Error": _obj(
            ["error"],
            {"error": {"type": "string"}, "params": {"type": "object"}},
            description="Every error answer. params names the field for 422 answers.",
        ),
        "JobRequest": _obj(
            ["containers", "data"],
            {
                "containers": {"type": "array", "items": {"type": "string"}},
                "data": {"type": "object"},
                "requires_proof": _NULLABLE_BOOL,
            },
            description="Keys id, ip and type are ignored. A body with a subscription "
            "or signature key is read as a DelegatedSubscriptionRequest.",
            # Mirrors the body-kind detection in node.api.schemas.is_delegated.
            **{"not": {"anyOf": [{"required": ["subscription"]}, {"required": ["signature"]}]}},
        ),
        "Subscription": _obj(
            [
                "owner",
                "active_at",
                "period",
                "frequency",
                "redundancy",
                "containers",
                "lazy",
                "verifier",
                "payment_amount",
                "payment_token",
                "wallet",
            ],
            {
                "owner": _ADDRESS,
                "active_at": _uint(UINT32_MAX),
                "period": _uint(UINT32_MAX),
                "frequency": _uint(UINT32_MAX),
                "redundancy": _uint(UINT16_MAX),
                "containers": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$"},
                "lazy": {"type": "boolean"},
                "verifier": _ADDRESS,
                "payment_amount": _uint(UINT256_MAX),
                "payment_token": _ADDRESS,
                "wallet": _ADDRESS,
            },
        ),
        "Signature": _obj(
            ["nonce", "expiry", "v", "r", "s"],
            {
                "nonce": _uint(UINT32_MAX),
                "expiry": _uint(UINT32_MAX),
                "v": {"type": "integer", "enum": [0, 1, 27, 28]},
                "r": _uint(UINT256_MAX),
                "s": _uint(UINT256_MAX),
            },
        ),
        "DelegatedSubscriptionRequest": _obj(
            ["subscription", "signature", "data"],
            {
                "subscription": _ref("Subscription"),
                "signature": _ref("Signature"),
                "data": {"type": "object"},
                "requires_proof": _NULLABLE_BOOL,
            },
        ),
        "SubmitRequest": {"anyOf": [_ref("JobRequest"), _ref("DelegatedSubscriptionRequest")]},
        "JobId": _obj(["id"], {"id": {"type": "string"}}, additionalProperties=False),
        "Accepted": {
            "type": "object",
            "maxProperties": 0,
            "description": "A delegated subscription was accepted; results go on-chain.",
        },
        "ContainerOutput": _obj(
            ["container", "output"], {"container": {"type": "string"}, "output": {}}
        ),
        "ContainerError": _obj(
            ["container", "error"],
            {"container": {"type": "string"}, "error": {"type": "string"}},
        ),
        "ContainerResult": {"anyOf": [_ref("ContainerOutput"), _ref("ContainerError")]},
        "JobResult": _obj(
            ["id", "status", "result"],
            {
                "id": {"type": "string"},
                "status": {"enum": ["running", "success", "failed"]},
                "result": {"anyOf": [_ref("ContainerResult"), {"type": "null"}]},
                "intermediate_results": {"type": "array", "items": _ref("ContainerResult")},
                "delivery": _ref("Delivery"),
            },
            description="intermediate_results is present only with intermediate=true; "
            "delivery only for delegated subscriptions (their on-chain delivery).",
        ),
        "Delivery": _obj(
            ["status"],
            {
                "status": {"enum": ["pending", "sent", "mined", "reverted", "failed"]},
                "tx_hash": {"type": ["string", "null"]},
                "block_number": {"type": ["integer", "null"]},
                "error": {"type": ["string", "null"]},
            },
        ),
        "StatusRequest": _obj(
            ["id", "status", "containers"],
            {
                "id": {"type": "string"},
                "status": {"enum": ["running", "success", "failed"]},
                "containers": {"type": "array", "items": {"type": "string"}},
            },
        ),
        "Health": _obj(["status"], {"status": {"enum": ["healthy", "unhealthy"]}}),
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


_ERRORS = {
    "400": "Malformed JSON, bad query parameter or header, or no client address",
    "403": "Caller is not on this host or a Docker bridge network",
    "404": "Unknown container",
    "405": "Rejected by the guardian (filter rules) or not streamable",
    "413": "Body larger than server.max_body_bytes (or batch too long)",
    "415": "Content-Type is not JSON",
    "422": "Body does not match the schema; params.field names the field",
    "429": "Rate limit exceeded or node overloaded; see Retry-After",
    "431": "Request header fields too large (refused before the API sees the request)",
    "503": "Node cannot take work right now",
}


def _op(summary: str, ok: dict[str, Schema], errors: str, **extra: Any) -> Schema:
    responses: dict[str, Schema] = dict(ok)
    # Any request can be refused by the HTTP server itself: a request line over its limit
    # (400) or header fields over theirs (431); the answer is still a JSON Error.
    for code in sorted({*errors.split(), "400", "431"}):
        responses[code] = _json(_ref("Error"), _ERRORS[code])
    return {"summary": summary, "responses": responses, **extra}


def _body(schema: Schema) -> Schema:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _query(name: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API."""
    ids = {"type": "array", "items": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Infernet Node REST API",
            "version": __version__,
            "description": "Compatible with Infernet Node v1.4.0 and infernet-client 1.4.0.",
        },
        "paths": {
            "/health": {
                "get": _op(
                    "Liveness",
                    {
                        "200": _json(_ref("Health"), "Healthy"),
                        "503": _json(_ref("Health"), "Unhealthy"),
                    },
                    "400 429",
                )
            },
            "/info": {
                "get": _op(
                    "Version, containers, pending counts, chain info",
                    {"200": _json({"type": "object"}, "Node information")},
                    "400 429",
                )
            },
            "/resources": {
                "get": _op(
                    "Each container's /service-resources answer",
                    {"200": _json({"type": "object"}, "Container id -> resources")},
                    "400 429",
                    parameters=[_query("model_id", {"type": "string"}, "Ask about one model")],
                )
            },
            "/metrics": {
                "get": _op(
                    "Node and host figures in the Prometheus text format (not rate limited)",
                    {
                        "200": {
                            "description": "Prometheus exposition",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "404": _json(_ref("Error"), "This node does not serve metrics"),
                    },
                    "400 503",
                )
            },
            "/api/jobs": {
                "post": _op(
                    "Submit one off-chain job or one delegated subscription",
                    {"200": _json({"anyOf": [_ref("JobId"), _ref("Accepted")]}, "Accepted")},
                    "400 405 413 415 422 429 503",
                    requestBody=_body(_ref("SubmitRequest")),
                ),
                "get": _op(
                    "Results of this client's jobs by id, or this client's job ids",
                    {
                        "200": _json(
                            {"anyOf": [{"type": "array", "items": _ref("JobResult")}, ids]},
                            "JobResults (with id) or job ids (without id)",
                        )
                    },
                    "400 429 503",
                    parameters=[
                        _query(
                            "id",
                            ids,
                            "Job ids; unknown ids are left out",
                            style="form",
                            explode=True,
                        ),
                        _query(
                            "intermediate", {"type": "string"}, "'true' adds intermediate_results"
                        ),
                        _query(
                            "pending",
                            {"type": "string"},
                            "Without id: 'true' running only, 'false' finished only",
                        ),
                    ],
                ),
            },
            "/api/jobs/batch": {
                "post": _op(
                    "Submit several jobs; each is admitted or rejected on its own",
                    {
                        "200": _json(
                            {
                                "type": "array",
                                "items": {
                                    "anyOf": [_ref("JobId"), _ref("Accepted"), _ref("Error")]
                                },
                            },
                            "One answer per item, in input order",
                        )
                    },
                    "400 413 429 503",
                    requestBody=_body(
                        {
                            "type": "array",
                            # Not maxItems: a longer batch is 413 (too large), which
                            # schema checkers would read as a missed validation error.
                            "description": f"At most {MAX_BATCH} items (else 413). Items "
                            "should be SubmitRequests; an item that is not gets an error "
                            "in its slot of the answer.",
                        }
                    ),
                )
            },
            "/api/jobs/stream": {
                "post": _op(
                    "Run an off-chain job and stream the first container's output",
                    {
                        "200": {
                            "description": "The job id and a newline, then the raw output",
                            "content": {
                                "application/octet-stream": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        }
                    },
                    "400 405 413 415 422 429 503",
                    requestBody=_body(_ref("JobRequest")),
                )
            },
            "/api/status": {
                "put": _op(
                    "Record a job status by hand (local callers only, not rate limited)",
                    {"200": _json({"type": "null"}, "Recorded")},
                    "400 403 413 422 503",
                    requestBody=_body(_ref("StatusRequest")),
                )
            },
            "/api/containers/{container_id}/logs": {
                "get": _op(
                    "A managed container's log (local callers only)",
                    {
                        "200": {
                            "description": "Log text, streamed",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                    "400 403 404 429 503",
                    parameters=[
                        {
                            "name": "container_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _query(
                            "tail",
                            {"type": "integer", "minimum": 0, "maximum": 999_999_999},
                            "Only the last N lines",
                        ),
                        _query(
                            "since",
                            {"type": "number", "minimum": 0},
                            "Only lines after this UNIX time",
                        ),
                        _query("follow", {"enum": ["true", "false"]}, "Keep streaming new lines"),
                    ],
                )
            },
            "/openapi.json": {
                "get": _op(
                    "This document", {"200": _json({"type": "object"}, "OpenAPI 3.1")}, "400 429"
                )
            },
        },
        "components": {"schemas": _schemas()},
    }


class OpenApiResource:
    def __init__(self, document: bytes | None = None) -> None:
        self._document = document if document is not None else encode_json(build_openapi())

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.data = self._document
