"""Per-request identity and rate limiting, run after routing and before the responder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon

from node.api.client_key import ClientKeyResolver
from node.api.errors import ApiError
from node.ratelimit import RateLimiter


class ClientMiddleware:
    """Sets ``req.context.client`` and enforces the per-endpoint, per-client rate limit.

    Resources opt out of rate limiting with a class attribute ``rate_limited = False``.
    Every answer of a rate-limited endpoint (errors included) carries the
    RateLimit-* headers.
    """

    def __init__(
        self,
        resolver: ClientKeyResolver,
        limiter: RateLimiter | None,
        clock: Callable[[], float],
    ) -> None:
        self._resolver = resolver
        self._limiter = limiter
        self._clock = clock

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        if resource is None:
            return
        client = self._resolver.resolve(
            req.env.get("REMOTE_ADDR"), req.get_header("X-Forwarded-For")
        )
        if client is None:
            raise ApiError(400, "Could not get client IP address")
        req.context.client = client
        if self._limiter is None or not getattr(resource, "rate_limited", True):
            return
        decision = self._limiter.hit((req.method, req.uri_template, client), self._clock())
        resp.set_header("RateLimit-Limit", str(decision.limit))
        resp.set_header("RateLimit-Remaining", str(decision.remaining))
        resp.set_header("RateLimit-Reset", str(decision.reset))
        if not decision.allowed:
            raise ApiError(
                429,
                "Too many requests",
                {"retry_after": decision.retry_after},
                headers={"Retry-After": str(decision.retry_after)},
            )
