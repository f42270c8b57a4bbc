"""A JobService stand-in for the moments before the actors are up and after they stop.

gunicorn loads the WSGI app before ``post_worker_init`` starts the actors, so
the app gets this object first and the real service is bound into it later.
"""

from __future__ import annotations

from typing import Any

from node.api.service import JobService, Unavailable


class LateService:
    def __init__(self) -> None:
        self._service: JobService | None = None

    def bind(self, service: JobService | None) -> None:
        self._service = service

    def health(self) -> bool:
        return self._service is not None and self._service.health()

    def __getattr__(self, name: str) -> Any:
        service = self._service
        if service is None:
            raise Unavailable("the node is starting or stopping")
        return getattr(service, name)
