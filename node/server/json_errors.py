"""gunicorn's own error answers as JSON, like every other answer of the API.

gunicorn refuses some requests before the application sees them (a request line
or header fields over its limits, malformed HTTP) and answers with an HTML page.
Clients of this API parse JSON error bodies, so the worker answers those as
``{"error": "<reason>: <detail>"}`` instead. gunicorn looks the writer up on its
``util`` module at call time, which is where it is replaced, in the worker only.
"""

from __future__ import annotations

import socket

import msgspec
from gunicorn import util


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    body = msgspec.json.encode({"error": f"{reason}: {mesg}" if mesg else reason})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    util.write_error = write_json_error  # type: ignore[assignment]
