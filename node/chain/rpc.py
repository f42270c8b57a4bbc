"""Raw JSON-RPC over a pool of keep-alive HTTP(S) connections.

Deliberately not web3's provider stack: that one adds ``eth_chainId`` calls and
middleware round trips to every transaction, and the node's budget is a handful
of requests per delivery. Every failure leaves here as an ``RpcError`` of one
closed kind (see ``rpc_errors``), so callers never match error strings.
"""

from __future__ import annotations

import email.utils
import http.client
import itertools
import json
import logging
import queue
import re
import threading
import time
import urllib.parse
from collections import Counter
from typing import Any, Literal

from node.chain.rpc_types import Block, Receipt, RpcError, RpcErrorKind
from node.nodelay_http import NoDelayHTTPConnection, NoDelayHTTPSConnection

log = logging.getLogger(__name__)

BlockTag = int | Literal["latest", "pending", "earliest", "safe", "finalized"]
# Retrying a request once on a pooled connection the server closed while it sat idle
# is safe even for eth_sendRawTransaction: a duplicate comes back "already known".
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, BrokenPipeError,
                            ConnectionResetError, http.client.CannotSendRequest)


class RateLimitedError(RpcError):
    """kind "rate_limited", with the server's Retry-After (seconds) when it sent one."""

    def __init__(self, message: str, *, method: str = "", retry_after: float | None = None) -> None:
        super().__init__("rate_limited", message, method=method)
        self.retry_after = retry_after


# Message fragments (lower case) per kind, checked in order: the first match wins.
_MESSAGE_KINDS: tuple[tuple[RpcErrorKind, tuple[str, ...]], ...] = (
    ("rate_limited", ("rate limit", "rate-limit", "ratelimit", "too many requests", "quota",
                      "request limit")),
    # geth/erigon/reth/anvil wording, then Nethermind's result names
    ("nonce_too_low", ("nonce too low", "oldnonce", "ownnoncealreadyused")),
    ("nonce_too_high", ("nonce too high", "noncegap", "noncetoofarinfuture")),
    ("already_known", ("already known", "known transaction", "alreadyknown",
                       "already imported", "already in the pool")),
    ("replacement_underpriced", ("replacement transaction underpriced",
                                 "replacement fee too low", "feetoolowtocompete")),
    ("fee_too_low", ("less than block base fee", "fee cap less than", "feecap too low",
                     "transaction underpriced", "max fee per gas less than", "feetoolow")),
    ("insufficient_funds", ("insufficient funds", "insufficientfunds")),
    ("gas_limit", ("intrinsic gas too low", "exceeds block gas limit",
                   "intrinsic gas too high", "gas limit reached", "gaslimitexceeded",
                   "gas required exceeds allowance")),
    ("unsupported", ("method not found", "does not exist/is not available",
                     "method not supported", "not supported")),
)
_HEX_RUN = re.compile(r"0x[0-9a-fA-F]*")


def revert_data(data: Any, message: str = "") -> bytes:
    """The revert bytes in a JSON-RPC error's ``data``: a hex string (anvil, geth), or
    nested in objects ({"data": ...}, {"originalError": {...}}, {txhash: {"return": ...}});
    failing that, a hex run in the message. b"" when there is none."""
    found = _find_hex(data)
    if found is None:
        found = _find_hex(message)
    return found or b""


def _find_hex(value: Any) -> bytes | None:
    if isinstance(value, str):
        for match in _HEX_RUN.findall(value):
            if len(match) % 2 == 0:
                return bytes.fromhex(match[2:])
        return None
    if isinstance(value, dict):
        preferred = [value[k] for k in ("data", "return", "result", "originalError")
                     if k in value]
        others = [v for k, v in value.items()
                  if k not in ("data", "return", "result", "originalError", "message")]
        for item in preferred + others:
            found = _find_hex(item)
            if found is not None:
                return found
    return None


def classify_error(error: Any, method: str) -> RpcError:
    """A JSON-RPC ``error`` object as an RpcError of one closed kind."""
    if not isinstance(error, dict):
        return RpcError("invalid", f"malformed error: {error!r}", method=method)
    code = error.get("code")
    message = str(error.get("message", ""))
    lowered = message.lower()
    if code == 3 or "revert" in lowered:
        return RpcError("revert", message, method=method,
                        data=revert_data(error.get("data"), message))
    if code == -32601:
        return RpcError("unsupported", message, method=method)
    for kind, fragments in _MESSAGE_KINDS:
        if any(fragment in lowered for fragment in fragments):
            if kind == "rate_limited":
                return RateLimitedError(message, method=method)
            return RpcError(kind, message, method=method)
    if code in (-32700, -32600, -32602):
        return RpcError("invalid", message, method=method)
    return RpcError("other", f"{message} (code {code})", method=method)


def http_status_error(status: int, decoded: Any, body: bytes, method: str) -> RpcError:
    """An RpcError for a non-2xx answer (429 is handled before)."""
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        error = classify_error(decoded["error"], method)
        if error.kind != "other":
            return error
    text = f"HTTP {status}: {body[:200]!r}"
    if status >= 500:
        return RpcError("unavailable", text, method=method)
    return RpcError("invalid" if status == 400 else "other", text, method=method)


def quantity(value: int) -> str:
    """A JSON-RPC QUANTITY."""
    return hex(value)


def block_param(block: BlockTag) -> str:
    return block if isinstance(block, str) else quantity(block)


def _hex_bytes(value: bytes) -> str:
    return "0x" + value.hex()


def _to_int(value: Any, what: str) -> int:
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise RpcError("invalid", f"{what} is not a hex quantity: {value!r}")


def _to_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise RpcError("invalid", f"{what} is not hex data: {value!r}")


def _tx_param(tx: dict[str, Any]) -> dict[str, Any]:
    """A transaction/call object with ints as QUANTITY and bytes as DATA."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            out[key] = quantity(value)
        elif isinstance(value, bytes | bytearray):
            out[key] = _hex_bytes(bytes(value))
        else:
            out[key] = value
    return out


def _retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _block(raw: Any) -> Block:
    if not isinstance(raw, dict):
        raise RpcError("invalid", f"block is not an object: {raw!r}")
    base_fee = raw.get("baseFeePerGas")
    return Block(
        number=_to_int(raw.get("number"), "block number"),
        hash=str(raw.get("hash")),
        parent_hash=str(raw.get("parentHash")),
        timestamp=_to_int(raw.get("timestamp"), "block timestamp"),
        base_fee=None if base_fee is None else _to_int(base_fee, "baseFeePerGas"),
    )


def _receipt(raw: dict[str, Any]) -> Receipt:
    price = raw.get("effectiveGasPrice")
    return Receipt(
        tx_hash=str(raw.get("transactionHash")),
        status=_to_int(raw.get("status", "0x1"), "receipt status"),
        block_number=_to_int(raw.get("blockNumber"), "receipt blockNumber"),
        block_hash=str(raw.get("blockHash")),
        gas_used=_to_int(raw.get("gasUsed"), "receipt gasUsed"),
        effective_gas_price=0 if price is None else _to_int(price, "effectiveGasPrice"),
    )


class HttpRpc:
    """The ``Rpc`` protocol over HTTP(S). Thread-safe: up to ``max_connections``
    requests run concurrently, each on its own persistent connection."""

    def __init__(self, url: str, *, timeout: float = 10.0, max_connections: int = 8) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"rpc_url must be an http(s) URL, got {url!r}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.url = url
        self.timeout = timeout
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname
        self._port = parsed.port
        self._path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._calls = 0
        self._by_method: Counter[str] = Counter()
        self._chain_id: int | None = None

    # -- accounting -------------------------------------------------------------------

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def calls_by_method(self) -> dict[str, int]:
        """Requests per JSON-RPC method; a batch counts once, as ``batch[<methods>]``."""
        with self._lock:
            return dict(self._by_method)

    def _count(self, label: str) -> None:
        with self._lock:
            self._calls += 1
            self._by_method[label] += 1

    # -- transport --------------------------------------------------------------------

    def _connection(self, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        """A pooled idle connection (reused=True) or a new one."""
        if not fresh:
            try:
                return self._idle.get_nowait(), True
            except queue.Empty:
                pass
        cls = NoDelayHTTPSConnection if self._https else NoDelayHTTPConnection
        return cls(self._host, self._port, timeout=self.timeout), False

    def _exchange(self, body: bytes, label: str) -> tuple[int, str | None, bytes]:
        """One HTTP POST; (status, Retry-After header, body)."""
        with self._slots:
            fresh = False
            while True:
                conn, reused = self._connection(fresh)
                self._count(label)
                try:
                    conn.request("POST", self._path, body=body,
                                 headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    payload = response.read()
                except _STALE_CONNECTION_ERRORS as exc:
                    conn.close()
                    if reused:
                        log.debug("pooled RPC connection was closed; retrying on a new one",
                                  extra={"method": label})
                        fresh = True
                        continue
                    raise RpcError("unavailable", f"connection lost: {exc!r}",
                                   method=label) from exc
                except TimeoutError as exc:
                    conn.close()
                    raise RpcError("timeout", f"no answer within {self.timeout} s",
                                   method=label) from exc
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    raise RpcError("unavailable", f"{exc!r}", method=label) from exc
                if response.will_close:
                    conn.close()
                else:
                    self._idle.put(conn)
                return response.status, response.getheader("Retry-After"), payload

    def _post(self, payload: Any, label: str) -> Any:
        status, retry_after, body = self._exchange(json.dumps(payload).encode(), label)
        if status == 429:
            raise RateLimitedError(f"HTTP 429: {body[:200]!r}", method=label,
                                   retry_after=_retry_after(retry_after))
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if status >= 300:
            raise http_status_error(status, decoded, body, label)
        if decoded is None:
            raise RpcError("invalid", f"response is not JSON: {body[:200]!r}", method=label)
        return decoded

    def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; its ``result`` or an RpcError."""
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = self._post(payload, method)
        if not isinstance(response, dict):
            raise RpcError("invalid", f"response is not an object: {response!r}", method=method)
        if "error" in response:
            raise classify_error(response["error"], method)
        if "result" not in response:
            raise RpcError("invalid", f"response has no result: {response!r}", method=method)
        return response["result"]

    def batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any | RpcError]:
        """Several JSON-RPC calls in one HTTP request; per call its result or an RpcError."""
        if not requests:
            return []
        first = next(self._ids)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p}
                   for i, (m, p) in enumerate(requests)]
        for _ in requests[1:]:
            next(self._ids)
        label = "batch[" + ",".join(sorted({m for m, _ in requests})) + "]"
        response = self._post(payload, label)
        if isinstance(response, dict) and "error" in response:
            # Servers without batch support answer the whole batch with one error.
            raise classify_error(response["error"], label)
        if not isinstance(response, list):
            raise RpcError("invalid", f"batch response is not a list: {response!r}",
                           method=label)
        by_id = {item.get("id"): item for item in response if isinstance(item, dict)}
        results: list[Any | RpcError] = []
        for i, (method, _) in enumerate(requests):
            item = by_id.get(first + i)
            if item is None:
                results.append(RpcError("invalid", "no answer in the batch", method=method))
            elif "error" in item:
                results.append(classify_error(item["error"], method))
            else:
                results.append(item.get("result"))
        return results

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # -- the Rpc protocol -------------------------------------------------------------

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _to_int(self.request("eth_chainId", []), "chain id")
        return self._chain_id

    def block_number(self) -> int:
        return _to_int(self.request("eth_blockNumber", []), "block number")

    def block(self, number: int | Literal["latest"]) -> Block:
        raw = self.request("eth_getBlockByNumber", [block_param(number), False])
        if raw is None:
            # A load-balanced endpoint may not have the block yet: worth retrying.
            raise RpcError("unavailable", f"block {number} not found",
                           method="eth_getBlockByNumber")
        return _block(raw)

    def call(self, to: str, data: bytes, *, block: int | Literal["latest"] = "latest",
             sender: str | None = None, gas: int | None = None) -> bytes:
        return _to_bytes(self.request("eth_call", [_call_object(to, data, sender, gas),
                                                   block_param(block)]), "eth_call result")

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        return _to_int(self.request("eth_estimateGas", [_tx_param(tx)]), "gas estimate")

    def nonce(self, address: str,
              block: int | Literal["latest", "pending"] = "pending") -> int:
        return _to_int(self.request("eth_getTransactionCount", [address, block_param(block)]),
                       "nonce")

    def balance(self, address: str, block: int | Literal["latest"] = "latest") -> int:
        return _to_int(self.request("eth_getBalance", [address, block_param(block)]), "balance")

    def fee_suggestion(self) -> tuple[int, int] | None:
        """Twice the latest base fee plus the node's suggested tip (one batched request);
        None on chains without a base fee."""
        block, tip = self.batch([("eth_getBlockByNumber", ["latest", False]),
                                 ("eth_maxPriorityFeePerGas", [])])
        if isinstance(block, RpcError):
            raise block
        base_fee = _block(block).base_fee
        if base_fee is None:
            return None
        if isinstance(tip, RpcError):
            if tip.kind != "unsupported":
                raise tip
            tip_wei = max(self.gas_price() - base_fee, 0)
        else:
            tip_wei = _to_int(tip, "max priority fee")
        return 2 * base_fee + tip_wei, tip_wei

    def max_priority_fee(self) -> int:
        return _to_int(self.request("eth_maxPriorityFeePerGas", []), "max priority fee")

    def gas_price(self) -> int:
        return _to_int(self.request("eth_gasPrice", []), "gas price")

    def send_raw(self, raw: bytes) -> str:
        return str(self.request("eth_sendRawTransaction", [_hex_bytes(raw)]))

    def receipt(self, tx_hash: str) -> Receipt | None:
        raw = self.request("eth_getTransactionReceipt", [tx_hash])
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise RpcError("invalid", f"receipt is not an object: {raw!r}",
                           method="eth_getTransactionReceipt")
        return _receipt(raw)

    def batch_call(self, calls: list[tuple[str, bytes]], *,
                   block: int | Literal["latest"] = "latest") -> list[bytes | RpcError]:
        tag = block_param(block)
        answers = self.batch([("eth_call", [_call_object(to, data, None, None), tag])
                              for to, data in calls])
        results: list[bytes | RpcError] = []
        for answer in answers:
            if isinstance(answer, RpcError):
                results.append(answer)
                continue
            try:
                results.append(_to_bytes(answer, "eth_call result"))
            except RpcError as exc:
                results.append(exc)
        return results

    def get_logs(self, address: str | list[str], topics: list[str | list[str] | None],
                 from_block: int, to_block: int) -> list[dict[str, Any]]:
        """eth_getLogs over an inclusive block range (never filters: some RPCs lack them)."""
        result = self.request("eth_getLogs", [{
            "address": address, "topics": topics,
            "fromBlock": quantity(from_block), "toBlock": quantity(to_block)}])
        if not isinstance(result, list):
            raise RpcError("invalid", f"logs are not a list: {result!r}", method="eth_getLogs")
        return result


def _call_object(to: str, data: bytes, sender: str | None, gas: int | None) -> dict[str, str]:
    obj = {"to": to, "data": _hex_bytes(data)}
    if sender is not None:
        obj["from"] = sender
    if gas is not None:
        obj["gas"] = quantity(gas)
    return obj
