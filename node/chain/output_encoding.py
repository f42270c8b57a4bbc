"""The ``(input, output, proof)`` bytes delivered on-chain for a container output.

containers.md §6. A container that returns all five keys ``raw_input``,
``processed_input``, ``raw_output``, ``processed_output`` and ``proof`` (hex
strings or null) is delivered as ``abi.encode(bytes, bytes)`` pairs plus the raw
proof. Any other JSON object falls back to ``abi.encode(string str(obj))`` where
``str(obj)`` is Python's repr of the parsed object, byte-identical to the
original node so that consumers tested against it keep working.

Departures from the original, which crashed its delivery task silently:
* hex values may carry a ``0x`` prefix; bad hex raises ``OutputEncodingError``;
* an output that is not a JSON object (null, list, string, number) raises
  ``OutputEncodingError("output", "expected a JSON object ...")`` instead of
  being delivered, so the caller can record a container error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
from eth_abi.abi import encode as abi_encode

ONCHAIN_KEYS = ("raw_input", "processed_input", "raw_output", "processed_output", "proof")
_HEX = re.compile(r"[0-9a-fA-F]*")


class OutputEncodingError(ValueError):
    """A container output cannot be delivered on-chain; ``key`` names the culprit."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def python_repr(value: Any) -> str:
    """Python's ``str()`` of parsed JSON: single quotes, True/False/None, ", "/": "."""
    return repr(value)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def _hex_bytes(key: str, value: Any) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise OutputEncodingError(key, f"expected a hex string or null, got {_json_kind(value)}")
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if not _HEX.fullmatch(digits):
        raise OutputEncodingError(key, "not a hex string")
    if len(digits) % 2:
        raise OutputEncodingError(key, "odd number of hex digits")
    return bytes.fromhex(digits)


def _parse_object(output: msgspec.Raw | None) -> dict[str, Any]:
    if output is None:
        raise OutputEncodingError("output", "expected a JSON object, got nothing")
    try:
        # The stdlib parser, like the original node, so the repr fallback matches.
        value = json.loads(bytes(output))
    except (ValueError, RecursionError) as exc:
        raise OutputEncodingError("output", "not valid JSON") from exc
    if not isinstance(value, dict):
        raise OutputEncodingError("output", f"expected a JSON object, got {_json_kind(value)}")
    return value


def encode_onchain_output(output: msgspec.Raw | None) -> tuple[bytes, bytes, bytes]:
    """``(input, output, proof)`` for ``deliverCompute`` from a container output."""
    value = _parse_object(output)
    if all(key in value for key in ONCHAIN_KEYS):
        raw_in, processed_in, raw_out, processed_out, proof = (
            _hex_bytes(key, value[key]) for key in ONCHAIN_KEYS
        )
        return (
            abi_encode(["bytes", "bytes"], [raw_in, processed_in]),
            abi_encode(["bytes", "bytes"], [raw_out, processed_out]),
            proof,
        )
    try:
        text = python_repr(value)
    except RecursionError as exc:
        raise OutputEncodingError("output", "nested too deeply") from exc
    return b"", abi_encode(["string"], [text]), b""
