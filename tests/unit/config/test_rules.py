"""Formats and cross-field rules."""

from __future__ import annotations

from typing import Any

import pytest

from node.config import ConfigError, parse_config
from node.config.schema import ZERO_ADDRESS

from .conftest import TEST_ADDRESS, TEST_KEY, container

REGISTRY = "0x663F3ad617193148711d28f5334eE4Ed07016602"


def _errors(raw: dict[str, Any], env: dict[str, str] | None = None) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env=env or {})
    return info.value.errors


def _chain(**fields: Any) -> dict[str, Any]:
    chain: dict[str, Any] = {
        "enabled": True,
        "rpc_url": "http://127.0.0.1:8545",
        "registry_address": REGISTRY,
        "wallet": {"private_key": TEST_KEY},
    }
    chain.update(fields)
    return {"chain": chain}


# --- managed containers -------------------------------------------------------


def test_managed_containers_need_an_image() -> None:
    raw = {"containers": [container(id="a"), {"id": "b"}, container(id="c", image="", port=3001)]}
    raw["containers"][1]["port"] = 3002
    assert _errors(raw) == (
        "containers[1].image: must be set when manage_containers is true",
        "containers[2].image: must be set when manage_containers is true",
    )


def test_unmanaged_containers_need_no_image() -> None:
    raw = {"manage_containers": False, "containers": [{"id": "remote", "url": "http://x:1"}]}
    assert parse_config(raw, env={}).config.containers[0].image == ""


def test_url_and_bearer_with_managed_containers_only_warn() -> None:
    raw = {"containers": [container(url="http://10.0.0.2:3000", bearer="tok3n")]}
    loaded = parse_config(raw, env={})
    assert loaded.config.containers[0].bearer == "tok3n"
    assert [w.split(":")[0] for w in loaded.warnings] == [
        "containers[0].url",
        "containers[0].bearer",
    ]
    assert all("tok3n" not in w for w in loaded.warnings)


def test_container_url_must_be_http() -> None:
    raw = {"manage_containers": False, "containers": [{"id": "a", "url": "ftp://host/x"}]}
    assert _errors(raw) == (
        "containers[0].url: expected an http(s) URL with a host, e.g. http://10.0.0.2:3000",
    )


# --- ids and ports ------------------------------------------------------------


def test_duplicate_ids_name_both_indexes() -> None:
    raw = {
        "containers": [
            container(id="a", port=3001),
            container(id="b", port=3002),
            container(id="a", port=3003),
        ]
    }
    assert _errors(raw) == ('containers[2].id: duplicate id "a" (also containers[0].id)',)


@pytest.mark.parametrize(
    ("cid", "message"),
    [
        ("", "containers[0].id: must not be empty"),
        ("a,b", "containers[0].id: must not contain ',' (it separates chained ids), got \"a,b\""),
    ],
)
def test_container_id_format(cid: str, message: str) -> None:
    assert _errors({"containers": [container(id=cid)]}) == (message,)


def test_port_clash_between_containers() -> None:
    raw = {"containers": [container(id="a", port=3000), container(id="b", port="3000")]}
    assert _errors(raw) == ("containers[1].port: port 3000 is also used by containers[0].port",)


def test_port_clash_with_the_rest_server() -> None:
    raw = {"server": {"port": 5000}, "containers": [container(port=5000)]}
    assert _errors(raw) == ("containers[0].port: port 5000 is also used by server.port",)


def test_unmanaged_containers_reached_by_url_use_no_port() -> None:
    raw = {
        "manage_containers": False,
        "containers": [
            {"id": "a", "url": "http://10.0.0.2:3000"},
            {"id": "b", "url": "http://10.0.0.3:3000"},
        ],
    }
    assert len(parse_config(raw, env={}).config.containers) == 2


def test_container_ports_out_of_range() -> None:
    raw = {"containers": [container(id="a", port=0), container(id="b", port=65536)]}
    assert _errors(raw) == (
        "containers[0].port: must be between 1 and 65535, got 0",
        "containers[1].port: must be between 1 and 65535, got 65536",
    )


# --- IP ranges ------------------------------------------------------------------


def test_allowed_ips_accept_addresses_and_cidr_with_host_bits() -> None:
    ips = ["127.0.0.1", "10.0.0.5/8", "192.168.0.0/16", "::1", "fd00::1/64"]
    config = parse_config({"containers": [container(allowed_ips=ips)]}, env={}).config
    assert config.containers[0].allowed_ips == tuple(ips)


@pytest.mark.parametrize("bad", ["10.0.0.300", "10.0.0.0/33", "localhost", "", "1.2.3.4/x"])
def test_allowed_ips_reject_other_strings(bad: str) -> None:
    errors = _errors({"containers": [container(allowed_ips=["1.1.1.1", bad])]})
    assert errors == (
        f'containers[0].allowed_ips[1]: expected an IP address or CIDR range, got "{bad}"',
    )


def test_trusted_proxies_are_ip_ranges() -> None:
    assert _errors({"server": {"trusted_proxies": ["10.0.0.0/8", "proxy"]}}) == (
        'server.trusted_proxies[1]: expected an IP address or CIDR range, got "proxy"',
    )


# --- addresses and payments -------------------------------------------------------


def test_accepted_payments_keep_amounts_beyond_64_bits_exactly() -> None:
    huge = 2**200 + 1
    raw = {"containers": [container(accepted_payments={ZERO_ADDRESS: huge, TEST_ADDRESS: "7"})]}
    payments = parse_config(raw, env={}).config.containers[0].accepted_payments
    assert payments == {ZERO_ADDRESS: huge, TEST_ADDRESS: 7}


def test_accepted_payment_keys_are_checksummed() -> None:
    raw = {"containers": [container(accepted_payments={TEST_ADDRESS.lower(): 1})]}
    payments = parse_config(raw, env={}).config.containers[0].accepted_payments
    assert list(payments) == [TEST_ADDRESS]


def test_accepted_payments_errors() -> None:
    raw = {
        "containers": [
            container(
                accepted_payments={
                    "0x123": 1,
                    TEST_ADDRESS: -1,
                    ZERO_ADDRESS: 1.5,
                }
            )
        ]
    }
    assert _errors(raw) == (
        f'containers[0].accepted_payments["{TEST_ADDRESS}"]: must not be negative, got -1',
        f'containers[0].accepted_payments["{ZERO_ADDRESS}"]: expected int, got 1.5',
    )
    raw["containers"][0]["accepted_payments"] = {"0x123": 1}
    assert _errors(raw) == (
        'containers[0].accepted_payments["0x123"]: '
        'expected a 20-byte hex address (0x + 40 hex digits), got "0x123"',
    )


def test_the_same_token_twice_in_different_case_is_an_error() -> None:
    raw = {"containers": [container(accepted_payments={TEST_ADDRESS: 1, TEST_ADDRESS.lower(): 2})]}
    (error,) = _errors(raw)
    assert "the same token address appears twice" in error


def test_allowed_addresses_are_validated_and_normalised() -> None:
    raw = {
        "containers": [
            container(
                allowed_addresses=[TEST_ADDRESS.lower()],
                allowed_delegate_addresses=[TEST_ADDRESS[2:]],
            )
        ]
    }
    c = parse_config(raw, env={}).config.containers[0]
    assert c.allowed_addresses == (TEST_ADDRESS,)
    assert c.allowed_delegate_addresses == (TEST_ADDRESS,)

    raw["containers"][0]["allowed_addresses"] = ["0xnothex"]
    (error,) = _errors(raw)
    assert error.startswith("containers[0].allowed_addresses[0]: expected a 20-byte hex address")


def test_wrong_checksum_is_a_warning() -> None:
    i = next(i for i, ch in enumerate(TEST_ADDRESS) if i > 1 and ch.isalpha())
    flipped = TEST_ADDRESS[:i] + TEST_ADDRESS[i].swapcase() + TEST_ADDRESS[i + 1 :]
    loaded = parse_config({"containers": [container(allowed_addresses=[flipped])]}, env={})
    (warning,) = loaded.warnings
    assert warning.startswith("containers[0].allowed_addresses[0]: mixed-case address")


# --- chain ------------------------------------------------------------------------


def test_enabled_chain_needs_rpc_registry_and_key() -> None:
    assert _errors({"chain": {"enabled": True}}) == (
        "chain.rpc_url: must be set when chain.enabled is true",
        "chain.registry_address: must be set when chain.enabled is true",
        "chain.wallet: must be set when chain.enabled is true (or set INFERNET_PRIVATE_KEY)",
    )
    assert _errors(_chain(wallet={}, rpc_url="", registry_address=None)) == (
        "chain.rpc_url: must be set when chain.enabled is true",
        "chain.registry_address: must be set when chain.enabled is true",
        "chain.wallet.private_key: must be set when chain.enabled is true "
        "(or set INFERNET_PRIVATE_KEY)",
    )


def test_disabled_chain_needs_nothing() -> None:
    assert parse_config({"chain": {"enabled": False, "wallet": {}}}, env={}).config.chain.wallet


def test_private_key_is_normalised_to_0x_prefixed() -> None:
    for key in (TEST_KEY, "0x" + TEST_KEY):
        wallet = parse_config(_chain(wallet={"private_key": key}), env={}).config.chain.wallet
        assert wallet is not None and wallet.private_key == "0x" + TEST_KEY


@pytest.mark.parametrize("key", ["0x" + "0" * 64, "f" * 64, TEST_KEY[:-2], TEST_KEY + "00"])
def test_invalid_private_keys(key: str) -> None:
    (error,) = _errors(_chain(wallet={"private_key": key}))
    assert error.startswith("chain.wallet.private_key: ")
    assert key.removeprefix("0x") not in error


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8545",
        "http://anvil:8545",
        "https://rpc.example.org/v1/abc",
        "http://[::1]:8545",
    ],
)
def test_rpc_url_accepts_single_label_hosts(url: str) -> None:
    assert parse_config(_chain(rpc_url=url), env={}).config.chain.rpc_url == url


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8546", "127.0.0.1:8545", "http://", "http://h:x"])
def test_rpc_url_must_be_http_without_echoing_it(url: str) -> None:
    (error,) = _errors(_chain(rpc_url=url))
    assert error == "chain.rpc_url: expected an http(s) URL with a host, e.g. http://127.0.0.1:8545"


def test_registry_and_payment_addresses() -> None:
    (error,) = _errors(_chain(registry_address="0x..."))
    assert error.startswith("chain.registry_address: expected a 20-byte hex address")
    wallet = {"private_key": TEST_KEY, "payment_address": TEST_ADDRESS.lower()}
    loaded = parse_config(_chain(wallet=wallet), env={}).config.chain.wallet
    assert loaded is not None and loaded.payment_address == TEST_ADDRESS


def test_empty_payment_address_means_unset() -> None:
    wallet = {"private_key": TEST_KEY, "payment_address": ""}
    loaded = parse_config(_chain(wallet=wallet), env={}).config.chain.wallet
    assert loaded is not None and loaded.payment_address is None


def test_volume_specs() -> None:
    ok = ["/host:/ctr", "named:/data:ro"]
    assert parse_config({"containers": [container(volumes=ok)]}, env={}).config
    assert _errors({"containers": [container(volumes=["/just/one"])]}) == (
        'containers[0].volumes[0]: expected "host_path:container_path[:mode]", got "/just/one"',
    )
