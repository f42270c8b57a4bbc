"""Per-field format checks: addresses, keys, URLs, IP ranges, volume specs.

Each check receives an already type-converted value, reports problems to the
Report under the value's JSON path and returns the (possibly normalised) value.
Optional strings that are empty are treated as unset (None).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from eth_utils.address import to_checksum_address

from node.config.coerce import FieldCheck
from node.config.report import Report, dict_key_path, index_path
from node.config.schema import Chain, Container, Server, Wallet

_HEX_ADDRESS = re.compile(r"^(0x)?[0-9a-fA-F]{40}$")
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
# order of the secp256k1 group: valid private keys are 1 .. n-1
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def normalise_address(raw: str, path: str, report: Report) -> str | None:
    """EIP-55 checksummed form of a 20-byte hex address, or None if malformed."""
    if not _HEX_ADDRESS.match(raw):
        report.error(path, f'expected a 20-byte hex address (0x + 40 hex digits), got "{raw}"')
        return None
    prefixed = raw if raw.startswith("0x") else "0x" + raw
    checksummed = str(to_checksum_address(prefixed))
    digits = prefixed[2:]
    mixed_case = digits != digits.lower() and digits != digits.upper()
    if mixed_case and prefixed != checksummed:
        report.warn(path, "mixed-case address with a wrong EIP-55 checksum; check for a typo")
    return checksummed


def optional_address(value: str | None, path: str, report: Report) -> str | None:
    if not value:
        return None
    return normalise_address(value, path, report) or value


def private_key(value: str | None, path: str, report: Report) -> str | None:
    if not value:
        return None
    if not _HEX_KEY.match(value):
        report.error(path, "expected a 32-byte hex string (64 hex digits, 0x optional)")
        return value
    digits = value.removeprefix("0x")
    if not 0 < int(digits, 16) < _SECP256K1_N:
        report.error(path, "not a valid secp256k1 private key")
    return "0x" + digits


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def http_url(value: str | None, path: str, report: Report) -> str | None:
    # The value is not echoed: RPC URLs often carry API keys.
    if not value:
        return None
    if not _is_http_url(value):
        report.error(path, "expected an http(s) URL with a host, e.g. http://127.0.0.1:8545")
    return value


def optional_http_url(value: str, path: str, report: Report) -> str:
    if value and not _is_http_url(value):
        report.error(path, "expected an http(s) URL with a host, e.g. http://10.0.0.2:3000")
    return value


def container_id(value: str, path: str, report: Report) -> str:
    if not value:
        report.error(path, "must not be empty")
    elif "," in value:
        report.error(path, f"must not contain ',' (it separates chained ids), got \"{value}\"")
    return value


def ip_ranges(values: tuple[str, ...], path: str, report: Report) -> tuple[str, ...]:
    for i, value in enumerate(values):
        try:
            ipaddress.ip_network(value, strict=False)  # host bits allowed: 10.0.0.5/8
        except ValueError:
            report.error(
                index_path(path, i), f'expected an IP address or CIDR range, got "{value}"'
            )
    return values


def addresses(values: tuple[str, ...], path: str, report: Report) -> tuple[str, ...]:
    normalised = [normalise_address(v, index_path(path, i), report) for i, v in enumerate(values)]
    return tuple(n or v for n, v in zip(normalised, values, strict=True))


def payments(values: dict[str, int], path: str, report: Report) -> dict[str, int]:
    """Token keys are checksummed, since the node compares them case-sensitively."""
    result: dict[str, int] = {}
    for token, amount in values.items():
        key_path = dict_key_path(path, token)
        key = normalise_address(token, key_path, report) or token
        if key in result:
            report.error(key_path, "the same token address appears twice")
        result[key] = amount
    return result


def volumes(values: tuple[str, ...], path: str, report: Report) -> tuple[str, ...]:
    for i, value in enumerate(values):
        parts = value.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            report.error(
                index_path(path, i),
                f'expected "host_path:container_path[:mode]", got "{value}"',
            )
    return values


FIELD_CHECKS: dict[tuple[type[Any], str], FieldCheck] = {
    (Chain, "rpc_url"): http_url,
    (Chain, "registry_address"): optional_address,
    (Chain, "node_manager_address"): optional_address,
    (Wallet, "private_key"): private_key,
    (Wallet, "payment_address"): optional_address,
    (Container, "id"): container_id,
    (Container, "url"): optional_http_url,
    (Container, "accepted_payments"): payments,
    (Container, "allowed_ips"): ip_ranges,
    (Container, "allowed_addresses"): addresses,
    (Container, "allowed_delegate_addresses"): addresses,
    (Container, "volumes"): volumes,
    (Server, "trusted_proxies"): ip_ranges,
}
