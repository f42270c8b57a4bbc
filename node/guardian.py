"""Admission rules for jobs and subscriptions (node-behaviour.md §9, §11).

Pure functions over ``GuardianRules``, a precompiled view of the config. Each
check returns the first failing rule as a ``Rejection`` (the exact message and
JSON-safe params of rest-api.md) or None when the request is admitted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from eth_utils.address import to_checksum_address

from node.config.schema import Config, Container

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Rejection(msgspec.Struct, frozen=True):
    """Why a request was refused: a rest-api.md message and JSON-safe params."""

    error: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class ContainerRules(msgspec.Struct, frozen=True):
    """One container's admission settings, normalised for fast checks."""

    external: bool
    generates_proofs: bool
    allowed_networks: tuple[IPNetwork, ...]
    allowed_addresses: frozenset[str]  # lower-case
    allowed_delegate_addresses: frozenset[str]  # lower-case
    accepted_payments: Mapping[str, int]  # checksummed token -> minimum amount

    @classmethod
    def from_config(cls, container: Container) -> ContainerRules:
        where = f"containers[{container.id}]"
        return cls(
            external=container.external,
            generates_proofs=container.generates_proofs,
            allowed_networks=tuple(
                _network(f"{where}.allowed_ips", value) for value in container.allowed_ips
            ),
            allowed_addresses=frozenset(a.lower() for a in container.allowed_addresses),
            allowed_delegate_addresses=frozenset(
                a.lower() for a in container.allowed_delegate_addresses
            ),
            accepted_payments={
                _checksummed(f"{where}.accepted_payments", token): amount
                for token, amount in container.accepted_payments.items()
            },
        )


class GuardianRules(msgspec.Struct, frozen=True):
    """Everything the guardian needs from the config, built once."""

    containers: Mapping[str, ContainerRules]
    chain_enabled: bool
    has_payment_address: bool

    @classmethod
    def from_config(cls, config: Config) -> GuardianRules:
        """Raises ValueError naming the field if an allow-list entry is malformed."""
        wallet = config.chain.wallet
        return cls(
            containers={c.id: ContainerRules.from_config(c) for c in config.containers},
            chain_enabled=config.chain.enabled,
            has_payment_address=bool(wallet and wallet.payment_address),
        )


def _network(field: str, value: str) -> IPNetwork:
    try:
        # strict=False: "10.0.0.5/8" means 10.0.0.0/8, as in the original.
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"{field}: {value!r} is not an IP address or network") from exc


def _checksummed(field: str, address: str) -> str:
    try:
        return str(to_checksum_address(address))
    except ValueError as exc:
        raise ValueError(f"{field}: {address!r} is not an address") from exc


def _client_address(client: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(client.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # "::ffff:10.0.0.1" is an IPv4 client
    return address


def _is_zero_address(address: str) -> bool:
    digits = address.strip().lower().removeprefix("0x")
    return not digits.strip("0")


def _first_not_external(rules: GuardianRules, containers: Sequence[str]) -> Rejection | None:
    if not rules.containers[containers[0]].external:
        return Rejection("First container must be external", {"first_container": containers[0]})
    return None


def _last_cannot_prove(rules: GuardianRules, containers: Sequence[str]) -> Rejection | None:
    if not rules.containers[containers[-1]].generates_proofs:
        return Rejection("Container does not generate proof", {"container": containers[-1]})
    return None


def _not_allowed(container: str, address: str) -> Rejection:
    params = {"container": container, "address": address}
    return Rejection("Container not allowed for address", params)


def _address_not_listed(
    rules: GuardianRules, containers: Sequence[str], owner: str, *, delegated: bool
) -> Rejection | None:
    """The first container whose (delegate) address allow-list excludes ``owner``."""
    for container in containers:
        settings = rules.containers[container]
        allowed = settings.allowed_delegate_addresses if delegated else settings.allowed_addresses
        if allowed and owner.lower() not in allowed:
            return _not_allowed(container, owner)
    return None


def _unsupported(rules: GuardianRules, containers: Sequence[str]) -> Rejection | None:
    for container in containers:
        if container not in rules.containers:
            return Rejection("Container not supported", {"container": container})
    return None


def check_offchain(
    rules: GuardianRules, containers: Sequence[str], requires_proof: bool, client: str
) -> Rejection | None:
    """Admission of an off-chain job from ``client`` (an IP address string)."""
    if not containers:
        return Rejection("No containers specified", {})
    rejection = _unsupported(rules, containers) or _first_not_external(rules, containers)
    if rejection is None and requires_proof:
        rejection = _last_cannot_prove(rules, containers)
    if rejection is not None:
        return rejection
    address: IPAddress | None = None
    parsed = False
    for container in containers:
        networks = rules.containers[container].allowed_networks
        if not networks:
            continue
        if not parsed:
            address, parsed = _client_address(client), True
        if address is None or not any(address in network for network in networks):
            return _not_allowed(container, client)
    return None


def check_delegated(
    rules: GuardianRules,
    containers: tuple[str, ...] | None,
    owner: str,
    verifier: str,
    expiry: int,
    now: float,
    *,
    container_hash: bytes | str = b"",
    nonce: int | None = None,
) -> Rejection | None:
    """Admission of a delegated subscription (signature checked later, elsewhere).

    ``containers`` is the chain resolved from the subscription's hash (None if
    unknown); ``container_hash`` and ``nonce`` only feed the params.
    """
    summary: dict[str, Any] = {"owner": owner, "expiry": expiry, "nonce": nonce}
    if not rules.chain_enabled:
        return Rejection("Chain not enabled", {"delegated_subscription": summary})
    if expiry < now:
        return Rejection("Signature expired", {"delegated_subscription": summary})
    if not containers:
        shown = container_hash if isinstance(container_hash, str) else "0x" + container_hash.hex()
        return Rejection("Container not supported", {"container": shown})
    rejection = _unsupported(rules, containers) or _first_not_external(rules, containers)
    if rejection is None and not _is_zero_address(verifier):
        rejection = _last_cannot_prove(rules, containers)
    if rejection is not None:
        return rejection
    return _address_not_listed(rules, containers, owner, delegated=True)


def check_onchain(
    rules: GuardianRules,
    sub_owner: str,
    containers: tuple[str, ...] | None,
    verifier: str,
    payment_amount: int,
    payment_token: str,
    has_payment_address: bool,
    completed: bool,
) -> Rejection | None:
    """Admission of an on-chain subscription seen during sync (logged if refused)."""
    if completed:
        return Rejection("Subscription completed", {"owner": sub_owner})
    if not containers:
        return Rejection("Container-set not supported", {"owner": sub_owner})
    rejection = _unsupported(rules, containers) or _first_not_external(rules, containers)
    if rejection is not None:
        return rejection
    rejection = _address_not_listed(rules, containers, sub_owner, delegated=False)
    if rejection is not None:
        return rejection
    if not _is_zero_address(verifier):
        rejection = _last_cannot_prove(rules, containers)
        if rejection is not None:
            return rejection
    reason = _payment_problem(rules, containers, payment_amount, payment_token, has_payment_address)
    if reason is not None:
        return Rejection(
            "Invalid payment",
            {"reason": reason, "payment_token": payment_token, "payment_amount": payment_amount},
        )
    return None


def _payment_problem(
    rules: GuardianRules,
    containers: Sequence[str],
    amount: int,
    token: str,
    has_payment_address: bool,
) -> str | None:
    """Why the subscription's payment is unacceptable (node-behaviour.md §11), or None."""
    if amount > 0 and not has_payment_address:
        return "node has no payment address"
    try:
        checksummed = str(to_checksum_address(token))
    except ValueError:
        return "payment token is not an address"
    minimum = 0
    for container in containers:
        accepted = rules.containers[container].accepted_payments
        if not accepted:
            continue
        if checksummed not in accepted:
            return f"token not accepted by {container}"
        minimum += accepted[checksummed]
    if amount < minimum:
        return f"payment below the minimum of {minimum}"
    return None
