"""A lean HTTP/1.1 client connection for calling workflow containers.

Every job pays for one container call, and the node's worker is bound by one
core, so the call path matters: ``http.client`` builds a request from several
writes and parses every response head with the ``email`` package. Here a
request is one prepared ``sendall`` and a response head is split by hand.
What containers send is covered: ``Content-Length`` bodies, chunked bodies,
bodies that end when the server closes (HTTP/1.0 servers), and interim 1xx
answers, which are skipped.

Faults raise ``OSError`` subclasses (timeouts, resets, refusals, and
``ServerClosed`` when the peer hangs up before a status line) or
``ProtocolError`` for a response that is not HTTP.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Iterator
from typing import NamedTuple

_MAX_HEAD_BYTES = 65536
_MAX_CHUNK_LINE = 4096
_READ_SIZE = 65536
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class ProtocolError(Exception):
    """The peer answered with something that is not a valid HTTP/1.x response."""


class ServerClosed(ConnectionError):
    """The peer closed the connection before sending a status line."""


class Deadline:
    """One time budget shared by every socket operation of a call."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = time.monotonic() + timeout

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


class ResponseHead(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    keep_alive: bool

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another request once this body is read: the
        server keeps it open and the body has a length of its own (not "until close")."""
        framed = "content-length" in self.headers or "transfer-encoding" in self.headers
        return self.keep_alive and (framed or self.status in (204, 304))


def _quick_ack(sock: socket.socket) -> None:
    """Ask Linux to ACK the next segment at once instead of delaying it.

    A server that writes its response head and body separately without
    TCP_NODELAY holds the body back until the head is ACKed; with a delayed
    ACK that costs ~40 ms. The kernel drops quick-ACK mode by itself, so it is
    re-armed before each wait for data.
    """
    if _TCP_QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            pass


def request_bytes(method: str, target: str, host_header: str, headers: dict[str, str],
                  body: bytes | None) -> bytes:
    """The whole request, ready for one ``sendall``."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("@ll", whole, max(int((seconds - whole) * 1_000_000), 1 if not whole else 0))


class Connection:
    """One TCP (or TLS) connection; one request at a time.

    Plain TCP sockets stay in blocking mode with the deadline set in the kernel
    (SO_SNDTIMEO/SO_RCVTIMEO): a Python socket timeout would add a ``poll``
    before every send and receive, and each of those system calls hands the
    GIL to another thread and back, which the node's busy worker feels. TLS
    sockets keep Python's timeouts.
    """

    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self._tls = tls
        self.sock: socket.socket | None = None
        self._buffer = b""
        self.last_used = 0.0  # time.monotonic() of the last completed exchange

    def connect(self, deadline: Deadline) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=deadline.remaining())
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            else:
                sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def _arm(self, sock: socket.socket, deadline: Deadline, option: int) -> None:
        """Bound the next blocking operation by the time that is left."""
        left = deadline.remaining()
        if self._tls is not None:
            sock.settimeout(left)
        else:
            sock.setsockopt(socket.SOL_SOCKET, option, _timeval(left))

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._buffer = b""
        if sock is not None:
            sock.close()

    # --- one exchange -----------------------------------------------------------------

    def send(self, data: bytes, deadline: Deadline) -> None:
        if self.sock is None:
            self.connect(deadline)
        sock = self._socket()
        self._arm(sock, deadline, socket.SO_SNDTIMEO)
        try:
            sock.sendall(data)
        except BlockingIOError:
            raise TimeoutError("timed out sending the request") from None

    def read_head(self, deadline: Deadline) -> ResponseHead:
        """Read the final response head (interim 1xx answers are skipped)."""
        while True:
            head = self._parse_head(self._read_head_bytes(deadline))
            if head.status == 101:  # nothing we asked for; what follows is not HTTP
                raise ProtocolError("the server switched protocols")
            if not 100 <= head.status < 200:
                return head

    def read_body(self, head: ResponseHead, deadline: Deadline, method: str = "POST") -> bytes:
        return b"".join(self.body_parts(head, deadline, method))

    def body_parts(self, head: ResponseHead, deadline: Deadline,
                   method: str = "POST") -> Iterator[bytes]:
        """The body as it arrives, framed by the head; raises ProtocolError on a cut body."""
        if method == "HEAD" or head.status in (204, 304):
            return
        encoding = (head.header("transfer-encoding") or "").lower()
        if encoding:
            if encoding.rsplit(",", 1)[-1].strip() != "chunked":
                raise ProtocolError(f"unsupported transfer encoding {encoding!r}")
            yield from self._chunked(deadline)
            return
        length = head.header("content-length")
        if length is None:
            yield from self._until_close(deadline)
            return
        if not length.isdigit():
            raise ProtocolError(f"invalid Content-Length {length!r}")
        yield from self._exactly(int(length), deadline)

    # --- reading ----------------------------------------------------------------------

    def _socket(self) -> socket.socket:
        if self.sock is None:
            raise ServerClosed("connection is closed")
        return self.sock

    def _recv(self, deadline: Deadline) -> bytes:
        sock = self._socket()
        self._arm(sock, deadline, socket.SO_RCVTIMEO)
        _quick_ack(sock)
        try:
            return sock.recv(_READ_SIZE)
        except BlockingIOError:
            raise TimeoutError("timed out waiting for the response") from None

    def _take(self, deadline: Deadline) -> bytes:
        """Buffered bytes if any, else the next read (b"" at EOF)."""
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        return self._recv(deadline)

    def _read_head_bytes(self, deadline: Deadline) -> bytes:
        data = self._buffer
        self._buffer = b""
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                self._buffer = data[end + 4:]
                return data[:end]
            if len(data) > _MAX_HEAD_BYTES:
                raise ProtocolError("response head is too large")
            more = self._recv(deadline)
            if not more:
                if data:
                    raise ProtocolError("connection closed inside the response head")
                raise ServerClosed("the server closed the connection without answering")
            data += more

    @staticmethod
    def _parse_head(raw: bytes) -> ResponseHead:
        lines = raw.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if version not in ("HTTP/1.1", "HTTP/1.0") or not code.isdigit():
            raise ProtocolError(f"bad status line {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"bad header line {line[:80]!r}")
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        tokens = {t.strip() for t in headers.get("connection", "").lower().split(",")}
        keep_alive = ("keep-alive" in tokens) if version == "HTTP/1.0" else ("close" not in tokens)
        return ResponseHead(int(code), headers, keep_alive)

    def _exactly(self, length: int, deadline: Deadline) -> Iterator[bytes]:
        left = length
        while left > 0:
            data = self._take(deadline)
            if not data:
                raise ProtocolError(f"connection closed with {left} of {length} body bytes unread")
            if len(data) > left:
                data, self._buffer = data[:left], data[left:]
            left -= len(data)
            yield data

    def _until_close(self, deadline: Deadline) -> Iterator[bytes]:
        while data := self._take(deadline):
            yield data

    def _line(self, deadline: Deadline) -> bytes:
        data = self._buffer
        self._buffer = b""
        while (end := data.find(b"\r\n")) < 0:
            if len(data) > _MAX_CHUNK_LINE:
                raise ProtocolError("chunk line is too long")
            more = self._recv(deadline)
            if not more:
                raise ProtocolError("connection closed inside a chunked body")
            data += more
        self._buffer = data[end + 2:]
        return data[:end]

    def _chunked(self, deadline: Deadline) -> Iterator[bytes]:
        while True:
            size_text = self._line(deadline).split(b";", 1)[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                raise ProtocolError(f"bad chunk size {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                while self._line(deadline):  # trailer fields, up to the empty line
                    pass
                return
            yield from self._exactly(size, deadline)
            if self._line(deadline):
                raise ProtocolError("chunk not followed by CRLF")
