"""All problems at once, by JSON path; secrets never echoed; unknown keys warned."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.config import ConfigError, parse_config

from .conftest import container


def _error(raw: object, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env=env or {})
    return info.value


def test_every_problem_is_reported_at_once() -> None:
    raw = {
        "server": {"port": "http"},
        "redis": {"port": "x"},
        "log": {"backup_count": -1},
        "containers": [
            container(id="a", port="abc"),
            container(id="b", port=3001, allowed_ips=["nope", "10.0.0.0/8", "also bad"]),
            {"image": "no-id", "port": 3002},
        ],
    }
    error = _error(raw)

    assert set(error.errors) == {
        'server.port: expected int, got "http"',
        'redis.port: expected int, got "x"',
        "log.backup_count: must not be negative, got -1",
        'containers[0].port: expected int, got "abc"',
        'containers[1].allowed_ips[0]: expected an IP address or CIDR range, got "nope"',
        'containers[1].allowed_ips[2]: expected an IP address or CIDR range, got "also bad"',
        "containers[2].id: required",
    }
    assert len(error.errors) == 7
    for line in error.errors:
        assert line in str(error)
    assert "7 errors" in str(error)


def test_a_bad_value_does_not_cause_follow_up_errors() -> None:
    # the bad port must not be replaced by a default that then "clashes"
    raw = {"containers": [container(id="a", port="x"), container(id="b", port=3000)]}
    assert _error(raw).errors == ('containers[0].port: expected int, got "x"',)


def test_top_level_must_be_an_object() -> None:
    assert _error([1, 2]).errors == ("$: expected object, got array",)


def test_container_entry_must_be_an_object() -> None:
    assert _error({"containers": ["hello"]}).errors == ("containers[0]: expected object, got str",)


SECRET = "S3CRETVALUE"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"chain": {"wallet": {"private_key": SECRET}}}, "chain.wallet.private_key"),
        ({"chain": {"wallet": {"private_key": [SECRET]}}}, "chain.wallet.private_key"),
        ({"docker": {"username": "u", "password": 1234567}}, "docker.password"),
        ({"redis": {"password": 98765432}}, "redis.password"),
        ({"containers": [container(bearer=12345678)]}, "containers[0].bearer"),
        ({"containers": [container(env={"API_KEY": [SECRET]})]}, 'containers[0].env["API_KEY"]'),
    ],
)
def test_bad_values_at_secret_paths_are_not_echoed(raw: dict[str, Any], path: str) -> None:
    error = _error(raw)
    (line,) = error.errors
    assert line.startswith(f"{path}: ")
    for secret in (SECRET, "1234567", "98765432", "12345678"):
        assert secret not in str(error)


def test_private_key_message_says_what_is_expected_without_the_value() -> None:
    error = _error({"chain": {"wallet": {"private_key": "0x1234" + "g" * 60}}})
    assert error.errors == (
        "chain.wallet.private_key: expected a 32-byte hex string (64 hex digits, 0x optional)",
    )


_secret_text = st.text(alphabet=string.ascii_letters + string.digits + "!@#$%^&*", min_size=1)


@given(body=_secret_text)
def test_no_secret_ever_appears_in_errors(body: str) -> None:
    secret = "Zq" + body + "qZ"  # a marker no message contains by chance
    raw = {
        "chain": {"enabled": True, "wallet": {"private_key": secret}},
        "docker": {"username": "u", "password": [secret]},
        "redis": {"password": {"v": secret}},
        "containers": [container(bearer=[secret], port="bad")],
    }
    error = _error(raw, env={"INFERNET_BEARER_X": secret})
    assert secret not in str(error)
    assert all(secret not in w for w in error.warnings)


def test_unknown_and_legacy_keys_are_accepted_with_warnings() -> None:
    raw = {
        "log_path": "node.log",
        "snapshot_sync": {"sleep": 1},
        "chain": {"coordinator_address": "0x0", "something": 1},
        "containers": [container(colour="blue")],
    }
    loaded = parse_config(raw, env={})

    assert set(loaded.warnings) == {
        "log_path: unknown key, ignored (replaced by log.path in v1.1.0)",
        "snapshot_sync: unknown key, ignored (moved to chain.snapshot_sync in v1.0.0)",
        "chain.coordinator_address: unknown key, ignored "
        "(replaced by chain.registry_address in v1.0.0)",
        "chain.something: unknown key, ignored",
        "containers[0].colour: unknown key, ignored",
    }


def test_warnings_travel_with_errors() -> None:
    error = _error({"mystery": 1, "server": {"port": "x"}})
    assert error.warnings == ("mystery: unknown key, ignored",)
