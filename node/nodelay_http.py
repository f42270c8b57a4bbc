"""HTTP connections that send each write at once.

Both the container client and the RPC client keep connections alive; with
Nagle's algorithm on, a request written in two parts waits for the peer's
delayed ACK (the original node lost ~40-88 ms per call to exactly that).
"""

from __future__ import annotations

import http.client
import socket


class NoDelayHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
