"""The app with a fake service, for tests that serve it with a real gunicorn."""

from __future__ import annotations

import os

from node.api.app import ApiDeps, create_app
from node.config.schema import RateLimit, Server
from tests.unit.api.fakes import FakeJobService

service = FakeJobService(
    stream_chunks=[b"first output", b"second output"], rejected_containers={"bad"}
)
service.logs["c1"] = [b"log line\n"]
app = create_app(
    ApiDeps(
        service=service,
        server=Server(
            max_body_bytes=int(os.environ.get("TEST_MAX_BODY", "1000")),
            rate_limit=RateLimit(num_requests=1000, period=1),
        ),
    )
)
