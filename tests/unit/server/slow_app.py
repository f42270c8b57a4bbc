"""A tiny WSGI app for driving a real gunicorn worker: /slow?s=N answers after N seconds
(and first creates the file named by ``mark``, so a test knows the request is in)."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/slow":
        query = urllib.parse.parse_qs(environ["QUERY_STRING"])
        if "mark" in query:
            Path(query["mark"][0]).touch()
        time.sleep(float(query.get("s", ["1"])[0]))
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
