"""POST /api/jobs/stream: run an off-chain job and stream the first container's output."""

from __future__ import annotations

import falcon

from node.api.body import check_json_content_type, read_body
from node.api.errors import ApiError
from node.api.schemas import parse_submission
from node.api.service import DelegatedSubmission, JobService
from node.api.streaming import stream_body


class StreamResource:
    def __init__(self, service: JobService, max_body_bytes: int) -> None:
        self._service = service
        self._max_body = max_body_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        check_json_content_type(req)
        submission = parse_submission(read_body(req, self._max_body))
        if isinstance(submission, DelegatedSubmission):
            raise ApiError(405, "Streaming only supported for OffchainJob requests.")
        job_id, chunks = self._service.stream(req.context.client, submission)
        resp.content_type = "application/octet-stream"
        resp.stream = stream_body(chunks, first=job_id.encode() + b"\n")
