"""The lean HTTP/1.1 connection against canned server bytes (framing and faults)."""

import socket
import struct
import threading

import pytest

from node.containers.http1 import (
    Connection,
    Deadline,
    ProtocolError,
    ServerClosed,
    _timeval,
    request_bytes,
)

WAIT = 5.0


class CannedServer:
    """Accepts one connection, reads one request head+body, writes ``answer`` (bytes or a
    list of byte strings sent separately), then closes or keeps the socket open."""

    def __init__(self, answer, *, close=True):
        self.answer = [answer] if isinstance(answer, bytes) else list(answer)
        self.close = close
        self.received = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(WAIT)
            while b"\r\n\r\n" not in self.received:
                self.received += conn.recv(65536)
            for part in self.answer:
                conn.sendall(part)
            if not self.close:
                self.done.wait(WAIT)
        self.done.set()

    def stop(self):
        self.done.set()
        self.thread.join(WAIT)
        self.listener.close()


def exchange(answer, *, close=True, method="POST"):
    server = CannedServer(answer, close=close)
    conn = Connection("127.0.0.1", server.port)
    try:
        deadline = Deadline(WAIT)
        conn.send(request_bytes(method, "/service_output", f"127.0.0.1:{server.port}",
                                {"Accept": "application/json"}, b"{}"), deadline)
        head = conn.read_head(deadline)
        body = conn.read_body(head, deadline, method)
        return head, body, server.received
    finally:
        conn.close()
        server.stop()


def test_request_is_one_well_formed_message():
    data = request_bytes("POST", "/p", "h:1", {"Accept": "application/json"}, b'{"a":1}')
    assert data == (b"POST /p HTTP/1.1\r\nHost: h:1\r\nAccept: application/json\r\n"
                    b"Content-Length: 7\r\n\r\n{\"a\":1}")
    assert request_bytes("GET", "/r", "h", {}, None) == b"GET /r HTTP/1.1\r\nHost: h\r\n\r\n"


def test_content_length_body_split_across_segments():
    head, body, received = exchange([b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
                                     b"Content-Length: 13\r\n\r\n{\"output\"", b": 1}"],
                                    close=False)
    assert (head.status, head.header("content-type"), body) == (200, "application/json",
                                                                 b'{"output": 1}')
    assert head.reusable
    assert received.startswith(b"POST /service_output HTTP/1.1\r\n")


def test_http10_body_ends_at_close_and_is_not_reusable():
    head, body, _ = exchange(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
    assert (head.status, body) == (200, b"all of it")
    assert not head.reusable


def test_interim_100_is_skipped():
    head, body, _ = exchange(b"HTTP/1.1 100 Continue\r\n\r\n"
                             b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    assert (head.status, body) == (201, b"ok")


def test_chunked_with_extensions_and_trailers():
    head, body, _ = exchange([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                              b"4;x=y\r\nabcd\r\n", b"A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"],
                             close=False)
    assert body == b"abcd0123456789"
    assert head.reusable


def test_repeated_headers_are_joined_and_connection_close_is_honoured():
    head, _, _ = exchange(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nConnection: close\r\n"
                          b"Content-Length: 0\r\n\r\n")
    assert head.header("x-a") == "1, 2"
    assert not head.reusable


def test_no_body_for_204():
    head, body, _ = exchange(b"HTTP/1.1 204 No Content\r\n\r\n", close=False)
    assert (head.status, body) == (204, b"")


@pytest.mark.parametrize("answer, message", [
    (b"SSH-2.0-OpenSSH\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "body bytes unread"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported transfer"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "inside the response head"),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "switched protocols"),
])
def test_malformed_responses_raise_protocol_error(answer, message):
    with pytest.raises(ProtocolError, match=message):
        exchange(answer)


def test_close_before_status_is_server_closed():
    with pytest.raises(ServerClosed):
        exchange(b"")


def test_silent_server_times_out_within_the_deadline():
    server = CannedServer(b"", close=False)
    conn = Connection("127.0.0.1", server.port)
    try:
        deadline = Deadline(0.2)
        conn.send(request_bytes("GET", "/", "h", {}, None), deadline)
        with pytest.raises(TimeoutError):
            conn.read_head(deadline)
    finally:
        conn.close()
        server.stop()


def test_kernel_timeouts_are_never_zero_which_would_mean_forever():
    assert struct.unpack("@ll", _timeval(1e-9)) == (0, 1)
    assert struct.unpack("@ll", _timeval(2.5)) == (2, 500000)


def test_a_peer_that_never_reads_makes_the_send_time_out():
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    conn = Connection("127.0.0.1", listener.getsockname()[1])
    try:
        with pytest.raises(TimeoutError):
            conn.send(b"x" * (64 << 20), Deadline(0.3))  # far more than the socket buffers
    finally:
        conn.close()
        for peer, _ in accepted:
            peer.close()
        listener.close()
