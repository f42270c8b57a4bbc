"""Reading request bodies within the configured size limit.

The limit is checked twice: against Content-Length before reading, and against
what is actually read, so a chunked upload (no Content-Length) cannot exceed it.
"""

from __future__ import annotations

from typing import Any

import falcon

from node.api.errors import ApiError, MalformedJson

_CHUNK = 64 * 1024


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"Request body larger than {limit} bytes", {"max_body_bytes": limit})


def is_json_media_type(content_type: str | None) -> bool:
    """application/json, application/*+json, or no Content-Type at all."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def check_json_content_type(req: falcon.Request) -> None:
    if not is_json_media_type(req.content_type):
        raise ApiError(
            415,
            f"Unsupported Content-Type: {req.content_type}",
            {"accepted": ["application/json", "application/*+json"]},
        )


def read_body(req: falcon.Request, limit: int) -> bytes:
    """The whole body (at most ``limit`` bytes, else 413), checked to be UTF-8."""
    length = req.content_length
    if length is not None:
        if length > limit:
            raise too_large(limit)
        data = req.bounded_stream.read(length)
    elif req.env.get("wsgi.input_terminated"):
        # Chunked upload: the server marks EOF, so read until then but never past limit.
        data = _read_capped(req.env["wsgi.input"], limit)
    else:
        # No length and no EOF marker: reading could block forever, so there is no body.
        data = b""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedJson(ValueError(f"invalid UTF-8 (byte {e.start})")) from None
    return data


def _read_capped(stream: Any, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
