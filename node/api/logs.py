"""GET /api/containers/{container_id}/logs: a managed container's log, for local callers."""

from __future__ import annotations

import math

import falcon

from node.api.errors import ApiError
from node.api.service import JobService
from node.api.status import require_local
from node.api.streaming import stream_body


def _bad_param(name: str, expected: str) -> ApiError:
    return ApiError(400, f"Invalid query parameter: {name}: expected {expected}", {"field": name})


def _tail(req: falcon.Request) -> int | None:
    text = req.get_param("tail")
    if text is None:
        return None
    if not text.isdigit() or len(text) > 9:
        raise _bad_param("tail", "a non-negative integer")
    return int(text)


def _since(req: falcon.Request) -> float | None:
    text = req.get_param("since")
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _bad_param("since", "a UNIX time in seconds") from None
    if not math.isfinite(value) or value < 0:
        raise _bad_param("since", "a UNIX time in seconds")
    return value


def _follow(req: falcon.Request) -> bool:
    text = req.get_param("follow")
    if text is None or text == "false":
        return False
    if text == "true":
        return True
    raise _bad_param("follow", "true or false")


class LogsResource:
    def __init__(self, service: JobService) -> None:
        self._service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response, container_id: str) -> None:
        require_local(req)
        tail, since, follow = _tail(req), _since(req), _follow(req)
        try:
            chunks = self._service.container_logs(container_id, tail, since, follow)
        except KeyError:
            raise ApiError(404, "Unknown container", {"container": container_id}) from None
        resp.content_type = "text/plain; charset=utf-8"
        resp.stream = stream_body(chunks)
