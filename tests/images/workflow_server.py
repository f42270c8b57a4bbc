#!/usr/bin/env python3
"""A workflow container for tests: speaks the Infernet service protocol (spec containers.md).

Standard library only, so it runs in the bare python3 base image and as a plain subprocess.
One script serves every test image; the mode (``--mode`` or env ``WORKFLOW_MODE``) picks the
behaviour of ``POST /service_output``:

* ``echo``      destination 1/2 -> ``{"output": data}``; destination 0 -> the five-key on-chain form
* ``slow``      sleeps ``data["sleep"]`` seconds (default 1), then answers like echo
* ``failing``   500 with the text ``workflow failed: <compact json>``; with ``data["json"] is true``
                500 with an infernet-ml style JSON error body
* ``streaming`` destination 2 -> chunked body, one chunk per string in ``data["chunks"]``;
                otherwise like echo

In every mode ``GET /`` answers 200 ``ok`` (readiness probe), ``GET /service-resources`` answers a
ServiceResources object, and ``GET /_requests`` lists the requests received so far (method, path,
headers, body) so tests can check what a client actually sent.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODES = ("echo", "slow", "failing", "streaming")
DEFAULT_PORT = 3000
PROOF_HEX = "c0ffee"
ONCHAIN, OFFCHAIN, STREAM = 0, 1, 2
RECORDED_REQUESTS = 100


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def abi_encode_string(text: str) -> bytes:
    """``abi.encode(string)``: offset word, length word, UTF-8 bytes right-padded to 32."""
    raw = text.encode("utf-8")
    padded = raw + b"\x00" * (-len(raw) % 32)
    return (32).to_bytes(32, "big") + len(raw).to_bytes(32, "big") + padded


def onchain_output(source: int, data: Any, requires_proof: bool) -> dict[str, str]:
    if source == ONCHAIN and isinstance(data, str):
        raw_output = data
    else:
        raw_output = abi_encode_string(compact_json(data)).hex()
    return {
        "raw_input": "",
        "processed_input": "",
        "raw_output": raw_output,
        "processed_output": "",
        "proof": PROOF_HEX if requires_proof else "",
    }


def echo_output(body: dict[str, Any]) -> Any:
    data = body.get("data")
    if body.get("destination") == ONCHAIN:
        return onchain_output(
            int(body.get("source", OFFCHAIN)), data, bool(body.get("requires_proof", False))
        )
    return {"output": data}


def service_resources(service_id: str) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "compute_capability": [
            {
                "id": "ml",
                "type": "test",
                "task": ["echo"],
                "models": [service_id],
                "cached_models": [],
                "inference_engine": "workflow_server",
                "inference_engine_version": "1",
            }
        ],
        "hardware_capabilities": [
            {
                "capability_id": "base",
                "cpu_info": {
                    "architecture": os.uname().machine,
                    "byte_order": sys.byteorder,
                    "cores": [],
                    "model": "test",
                    "num_cores": os.cpu_count() or 1,
                    "vendor_id": "test",
                },
                "disk_info": [],
                "os_info": {"name": os.uname().sysname, "version": os.uname().release},
            }
        ],
    }


class WorkflowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries a length or is chunked
    disable_nagle_algorithm = True  # TCP_NODELAY, so small streamed chunks leave at once
    server: WorkflowServer

    # --- plumbing -------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode("utf-8"), "application/json")

    def _send_text(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _send_chunked(self, chunks: list[str], delay: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, chunk in enumerate(chunks):
            if i and delay > 0:
                time.sleep(delay)
            raw = chunk.encode("utf-8")
            if raw:  # an empty chunk would end the body early
                self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _record(self, body: bytes) -> None:
        self.server.record(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", errors="replace"),
            }
        )

    # --- routes ---------------------------------------------------------------

    def do_GET(self) -> None:
        self._record(b"")
        url = urlsplit(self.path)
        if url.path == "/":
            self._send_text(200, "ok")
        elif url.path == "/service-resources":
            service_id = self.server.service_id
            model_id = parse_qs(url.query).get("model_id")
            if model_id:
                self._send_json(200, {"supported": model_id[0] == service_id})
            else:
                self._send_json(200, service_resources(service_id))
        elif url.path == "/_requests":
            self._send_json(200, self.server.recorded())
        else:
            self._send_json(404, {"code": "404", "name": "NotFound", "description": url.path})

    def do_POST(self) -> None:
        raw = self._read_body()
        self._record(raw)
        if urlsplit(self.path).path != "/service_output":
            self._send_json(404, {"code": "404", "name": "NotFound", "description": self.path})
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            self._send_json(400, {"code": "400", "name": "BadRequest", "description": str(exc)})
            return
        if not isinstance(body, dict) or "data" not in body:
            self._send_json(
                400,
                {"code": "400", "name": "BadRequest", "description": "body needs a 'data' field"},
            )
            return
        self.server.handle_service_output(self, body)


class WorkflowServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], mode: str, service_id: str) -> None:
        super().__init__(address, WorkflowHandler)
        self.mode = mode
        self.service_id = service_id
        self._requests: deque[dict[str, Any]] = deque(maxlen=RECORDED_REQUESTS)
        self._lock = threading.Lock()

    def record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(request)

    def recorded(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def handle_service_output(self, handler: WorkflowHandler, body: dict[str, Any]) -> None:
        data = body["data"]
        options = data if isinstance(data, dict) else {}
        if self.mode == "failing":
            if options.get("json") is True:
                handler._send_json(500, {"code": "500", "name": "Internal", "description": "boom"})
            else:
                handler._send_text(500, f"workflow failed: {compact_json(data)}")
            return
        if self.mode == "slow":
            time.sleep(float(options.get("sleep", 1.0)))
        if self.mode == "streaming" and body.get("destination") == STREAM:
            chunks = options.get("chunks", ["a", "b", "c"])
            handler._send_chunked([str(c) for c in chunks], float(options.get("delay", 0.05)))
            return
        handler._send_json(200, echo_output(body))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Infernet workflow test server")
    parser.add_argument("--mode", choices=MODES, default=os.environ.get("WORKFLOW_MODE", "echo"))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--service-id",
        default=os.environ.get("SERVICE_ID"),
        help="service_id reported by /service-resources (default: the mode name)",
    )
    args = parser.parse_args(argv)
    if args.mode not in MODES:  # WORKFLOW_MODE bypasses argparse's choices check
        parser.error(f"unknown mode {args.mode!r}; expected one of {', '.join(MODES)}")
    return args


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    # As PID 1 in a container SIGTERM is ignored unless handled; exit so `docker stop` is quick.
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _exit_on_term)
    server = WorkflowServer((args.host, args.port), args.mode, args.service_id or args.mode)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    host, port = server.server_address[:2]
    try:
        # Announced inside the try: a SIGTERM right after the announcement still ends cleanly.
        print(f"workflow_server mode={args.mode} listening on {host}:{port}", flush=True)
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        print("workflow_server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
