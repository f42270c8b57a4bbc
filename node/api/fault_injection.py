"""POST /debug/crash/{actor}: crash an actor on purpose, for resilience tests.

Served only when the node runs with INFERNET_FAULT_INJECTION=1, and only to
callers on this host. It lets a test prove, against a real node process, that a
crashed actor restarts alone while the rest keeps working.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon

from node.api.errors import ApiError
from node.api.respond import send_json
from node.api.status import require_local

CrashActor = Callable[[str], bool]


class CrashResource:
    rate_limited = False

    def __init__(self, crash: CrashActor) -> None:
        self._crash = crash

    def on_post(self, req: falcon.Request, resp: falcon.Response, actor: str) -> None:
        require_local(req)
        if not self._crash(actor):
            raise ApiError(404, f"No actor named {actor}", {"actor": actor})
        send_json(resp, {"crashed": actor})
