"""GET /health, GET /info, GET /resources."""

from __future__ import annotations

import falcon

from node.api.respond import send_json
from node.api.service import JobService


class HealthResource:
    def __init__(self, service: JobService) -> None:
        self._service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._service.health():
            send_json(resp, {"status": "healthy"})
        else:
            send_json(resp, {"status": "unhealthy"}, 503)


class InfoResource:
    def __init__(self, service: JobService) -> None:
        self._service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send_json(resp, self._service.info())


class ResourcesResource:
    def __init__(self, service: JobService) -> None:
        self._service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send_json(resp, self._service.resources(req.get_param("model_id")))
