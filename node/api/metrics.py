"""GET /metrics: the node's figures in the Prometheus text format.

Not rate limited: a scraper polls on a fixed schedule from one address, and a
429 would only leave gaps in its series.
"""

from __future__ import annotations

import falcon

from node.api.errors import ApiError
from node.stats.exposition import MetricsSource


class MetricsResource:
    rate_limited = False

    def __init__(self, source: MetricsSource) -> None:
        self._source = source

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        rendered = self._source.render()
        if rendered is None:
            raise ApiError(503, "Metrics are not available while the node starts or stops")
        body, content_type = rendered
        resp.content_type = content_type
        resp.data = body
