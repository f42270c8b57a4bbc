"""PUT /api/status: a job status recorded by hand, by callers on this host only."""

from __future__ import annotations

import falcon

from node.api.body import read_body
from node.api.client_key import is_local
from node.api.errors import ApiError
from node.api.respond import send_json
from node.api.schemas import parse_status
from node.api.service import JobService
from node.messages import JOB_STATUSES


def require_local(req: falcon.Request) -> None:
    if not is_local(req.context.client):
        raise ApiError(403, "Unauthorized")


class StatusResource:
    rate_limited = False  # like the original: containers may report often

    def __init__(self, service: JobService, max_body_bytes: int) -> None:
        self._service = service
        self._max_body = max_body_bytes

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_local(req)
        # Like the original, any Content-Type is accepted here.
        request = parse_status(read_body(req, self._max_body))
        if request.status not in JOB_STATUSES:
            raise ApiError(400, "Status is invalid")
        self._service.record_status(
            req.context.client, request.id, request.status, request.containers
        )
        send_json(resp, None)
