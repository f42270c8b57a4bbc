"""POST /api/jobs/batch: many submissions, each parsed and admitted on its own."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec

from node.api.body import read_body
from node.api.errors import ApiError, MalformedJson
from node.api.respond import error_body, send_json
from node.api.schemas import parse_submission
from node.api.service import DelegatedSubmission, JobRejected, JobService, JobSubmission

MAX_BATCH = 1000
_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])


def _answer(outcome: str | JobRejected | None) -> dict[str, Any]:
    if isinstance(outcome, JobRejected):
        return error_body(outcome.error, outcome.params)
    return {} if outcome is None else {"id": outcome}


class BatchResource:
    def __init__(self, service: JobService, max_body_bytes: int) -> None:
        self._service = service
        self._max_body = max_body_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        # Like the original, any Content-Type is accepted here.
        body = read_body(req, self._max_body)
        try:
            items = _list_decoder.decode(body)
        except msgspec.ValidationError:
            raise ApiError(400, "Expected a list") from None
        except (msgspec.DecodeError, RecursionError) as e:
            raise MalformedJson(e) from None
        if len(items) > MAX_BATCH:
            raise ApiError(413, f"Batch larger than {MAX_BATCH} items", {"max_items": MAX_BATCH})

        # A bad item gets its own error; the others still run (the original failed them all).
        parsed: list[JobSubmission | DelegatedSubmission | ApiError] = []
        for item in items:
            try:
                parsed.append(parse_submission(bytes(item)))
            except ApiError as e:
                parsed.append(e)
        valid = [p for p in parsed if not isinstance(p, ApiError)]
        outcomes = iter(self._service.submit_batch(req.context.client, valid) if valid else [])
        answers = [
            error_body(p.error, p.params or {})
            if isinstance(p, ApiError)
            else _answer(next(outcomes))
            for p in parsed
        ]
        send_json(resp, answers)
