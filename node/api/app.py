"""The falcon WSGI app: wiring only. Resources talk to the node through JobService."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import falcon

from node.api.batch import BatchResource
from node.api.client_key import ClientKeyResolver
from node.api.errors import register_error_handlers
from node.api.fault_injection import CrashActor, CrashResource
from node.api.health import HealthResource, InfoResource, ResourcesResource
from node.api.jobs import JobsResource
from node.api.logs import LogsResource
from node.api.metrics import MetricsResource
from node.api.middleware import ClientMiddleware
from node.api.openapi import OpenApiResource
from node.api.service import JobService
from node.api.status import StatusResource
from node.api.stream import StreamResource
from node.config.schema import Server
from node.ratelimit import RateLimiter
from node.stats.exposition import MetricsSource


@dataclass(frozen=True)
class ApiDeps:
    service: JobService
    server: Server = field(default_factory=Server)
    clock: Callable[[], float] = time.monotonic
    # A prebuilt OpenAPI document (JSON bytes); None serves node.api.openapi's.
    openapi: bytes | None = None
    rate_limit_keys: int = 100_000
    # What GET /metrics serves; None leaves the route out (404).
    metrics: MetricsSource | None = None
    # Test-only: crashes a named actor (INFERNET_FAULT_INJECTION=1); None: no route.
    crash_actor: CrashActor | None = None


def _limiter(deps: ApiDeps) -> RateLimiter | None:
    rate = deps.server.rate_limit
    if rate.num_requests <= 0 or rate.period <= 0:
        return None  # a zero limit in config means "no rate limiting"
    return RateLimiter(rate.num_requests, rate.period, deps.rate_limit_keys)


def create_app(deps: ApiDeps) -> falcon.App[Any, Any]:
    """Raises ValueError for an invalid ``server.trusted_proxies`` entry."""
    middleware = ClientMiddleware(
        ClientKeyResolver(deps.server.trusted_proxies), _limiter(deps), deps.clock
    )
    app: falcon.App[Any, Any] = falcon.App(middleware=[middleware])
    register_error_handlers(app)
    service, limit = deps.service, deps.server.max_body_bytes
    app.add_route("/health", HealthResource(service))
    app.add_route("/info", InfoResource(service))
    app.add_route("/resources", ResourcesResource(service))
    app.add_route("/api/jobs", JobsResource(service, limit))
    app.add_route("/api/jobs/batch", BatchResource(service, limit))
    app.add_route("/api/jobs/stream", StreamResource(service, limit))
    app.add_route("/api/status", StatusResource(service, limit))
    app.add_route("/api/containers/{container_id}/logs", LogsResource(service))
    app.add_route("/openapi.json", OpenApiResource(deps.openapi))
    if deps.metrics is not None:
        app.add_route("/metrics", MetricsResource(deps.metrics))
    if deps.crash_actor is not None:
        app.add_route("/debug/crash/{actor}", CrashResource(deps.crash_actor))
    return app
