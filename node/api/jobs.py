"""POST /api/jobs (submit one job or delegated subscription) and GET /api/jobs."""

from __future__ import annotations

import falcon

from node.api.body import check_json_content_type, read_body
from node.api.respond import send_json
from node.api.schemas import job_result, parse_submission
from node.api.service import JobService

_PENDING = {"true": True, "false": False}


class JobsResource:
    def __init__(self, service: JobService, max_body_bytes: int) -> None:
        self._service = service
        self._max_body = max_body_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        check_json_content_type(req)
        submission = parse_submission(read_body(req, self._max_body))
        job_id = self._service.submit(req.context.client, submission)
        send_json(resp, {} if job_id is None else {"id": job_id})

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        client: str = req.context.client
        ids = req.get_param_as_list("id")
        if ids:
            intermediate = req.get_param("intermediate") == "true"
            records = self._service.results(client, ids)
            send_json(resp, [job_result(r, intermediate) for r in records])
        else:
            pending = _PENDING.get(req.get_param("pending") or "")
            send_json(resp, self._service.job_ids(client, pending))
