"""Writing JSON answers: one shared msgspec encoder, bytes straight into the response."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec


def _as_text(obj: Any) -> str:
    # Service-provided bodies (info, guardian params) must never fail to encode:
    # anything msgspec does not know is sent as its text.
    return str(obj)


_encoder = msgspec.json.Encoder(enc_hook=_as_text)
JSON = "application/json"


def encode_json(body: Any) -> bytes:
    return _encoder.encode(body)


def send_json(resp: falcon.Response, body: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = JSON
    resp.data = _encoder.encode(body)


def error_body(error: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": error} if params is None else {"error": error, "params": params}
