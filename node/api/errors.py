"""Every mapping from an exception to an HTTP answer, registered in one place.

Client errors are JSON ``{"error": str, "params": object}`` (the official client
reads only these two keys). Guardian rejections stay 405 because the official
client and its tests expect that code.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from node.api.respond import JSON, encode_json, error_body, send_json
from node.api.service import JobRejected, Overloaded, Unavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A client error with a fixed status and a JSON body."""

    def __init__(
        self,
        status: int,
        error: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.params = params
        self.headers = headers or {}


class InvalidField(ApiError):
    """The body has the wrong shape: 422 naming the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(422, f"Invalid request: {field}: {problem}", {"field": field})
        self.field = field
        self.problem = problem


class MalformedJson(ApiError):
    """The body is not JSON at all: 400 saying where parsing stopped."""

    def __init__(self, cause: Exception) -> None:
        if isinstance(cause, RecursionError):
            where = "nested too deeply"
        else:
            where = str(cause).removeprefix("JSON is malformed: ")
        super().__init__(400, f"Malformed JSON: {where[:1].lower()}{where[1:]}")


def _api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, params: Any) -> None:
    for name, value in ex.headers.items():
        resp.set_header(name, value)
    send_json(resp, error_body(ex.error, ex.params), ex.status)


def _rejected(req: falcon.Request, resp: falcon.Response, ex: JobRejected, params: Any) -> None:
    send_json(resp, error_body(ex.error, ex.params), 405)


def _overloaded(req: falcon.Request, resp: falcon.Response, ex: Overloaded, params: Any) -> None:
    resp.set_header("Retry-After", str(max(1, int(ex.retry_after))))
    send_json(resp, error_body(str(ex) or "Overloaded", {}), 429)


def _unavailable(req: falcon.Request, resp: falcon.Response, ex: Unavailable, params: Any) -> None:
    send_json(resp, error_body(str(ex) or "Service unavailable", {}), 503)


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    log.exception("unhandled error in request", extra={"method": req.method, "path": req.path})
    send_json(resp, error_body("Internal server error"), 500)


def _serialize_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    """Falcon's own errors (404, 405 with Allow, bad headers) as our JSON shape."""
    # Falcon titles read "404 Not Found"; the status line already carries the code.
    message = ex.description or (ex.title or "Error").lstrip("0123456789 ")
    resp.content_type = JSON
    resp.data = encode_json(error_body(message, {}))


def register_error_handlers(app: falcon.App[Any, Any]) -> None:
    # Falcon picks the most specific handler by MRO, so the catch-all for Exception
    # does not shadow these or falcon's own HTTPError handling.
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler(JobRejected, _rejected)
    app.add_error_handler(Overloaded, _overloaded)
    app.add_error_handler(Unavailable, _unavailable)
    app.set_error_serializer(_serialize_http_error)
