"""A real HTTP/1.1 server on 127.0.0.1 whose behaviour each test scripts.

Counts accepted connections so tests can prove keep-alive reuse, records
every request (path, headers, body) and answers through a handler function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes, conn_no: int):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.conn_no = conn_no


Reply = Callable[["_Handler", Request], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.conn_no = self.server.connections
            self.requests_on_conn = 0

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.requests_on_conn += 1
        request = Request(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            body,
            self.conn_no,
        )
        with self.server.lock:
            self.server.requests.append(request)
        self.server.reply(self, request)

    do_GET = _serve
    do_POST = _serve

    # helpers for reply functions
    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str | None = "application/json",
        close: bool = False,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if close:
            self.close_connection = True

    def start_chunked(self, status: int = 200, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, reply: Reply) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[Request] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def json_reply(body: bytes = b'{"output": "ok"}') -> Reply:
    def reply(handler: _Handler, request: Request) -> None:
        handler.send_body(200, body)

    return reply
