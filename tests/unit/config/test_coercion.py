"""Lax scalar coercion, as the original's pydantic lax mode did it."""

from __future__ import annotations

from typing import Any

import pytest

from node.config import ConfigError, parse_config

from .conftest import container


def _errors(raw: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env={})
    return info.value.errors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3000", 3000), (3000, 3000), (3000.0, 3000), ("3e3", 3000), ("65535", 65535)],
)
def test_int_fields_accept_numeric_strings_and_integral_floats(raw: Any, expected: int) -> None:
    config = parse_config({"containers": [container(port=raw)]}, env={}).config
    assert config.containers[0].port == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("false", False),
        ("True", True),
        ("yes", True),
        ("off", False),
        (1, True),
        (0, False),
        ("0", False),
    ],
)
def test_bool_fields_accept_pydantic_lax_forms(raw: Any, expected: bool) -> None:
    assert parse_config({"forward_stats": raw}, env={}).config.forward_stats is expected


@pytest.mark.parametrize("raw", ["maybe", 2, 1.5, None, [], {}])
def test_bool_fields_reject_other_values(raw: Any) -> None:
    (error,) = _errors({"forward_stats": raw})
    assert error.startswith("forward_stats: expected bool, got ")


def test_float_fields_accept_ints_and_numeric_strings() -> None:
    config = parse_config(
        {"startup_wait": 2, "chain": {"snapshot_sync": {"sleep": "1.5"}}}, env={}
    ).config
    assert config.startup_wait == 2.0 and isinstance(config.startup_wait, float)
    assert config.chain.snapshot_sync.sleep == 1.5


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
def test_float_fields_reject_non_finite_numbers(raw: str) -> None:
    assert _errors({"startup_wait": raw}) == (
        f'startup_wait: expected a finite number, got "{raw}"',
    )


def test_int_error_names_the_path_and_echoes_the_bad_value() -> None:
    errors = _errors({"containers": [container(id="a"), container(id="b", port="abc")]})
    assert errors == ('containers[1].port: expected int, got "abc"',)


@pytest.mark.parametrize("raw", [3000.5, True, " 3000", "0x10"])
def test_int_fields_reject_non_integers(raw: Any) -> None:
    (error,) = _errors({"server": {"port": raw}})
    assert error.startswith("server.port: expected int, got ")


def test_strings_are_not_made_from_numbers() -> None:
    assert _errors({"redis": {"host": 5}}) == ("redis.host: expected str, got 5",)


def test_null_is_accepted_only_where_the_type_allows_it() -> None:
    config = parse_config(
        {"docker": None, "chain": {"wallet": None, "rpc_url": None}, "log": {"path": None}},
        env={},
    ).config
    assert config.docker is None and config.chain.wallet is None and config.log.path is None

    errors = _errors({"chain": None, "server": {"port": None}, "containers": None})
    assert set(errors) == {
        "chain: expected object, got null",
        "server.port: expected int, got null",
        "containers: expected array, got null",
    }


def test_wrongly_typed_objects_holding_secrets_are_not_echoed() -> None:
    errors = _errors({"docker": "me:pw", "chain": {"wallet": "0xdeadbeef"}})
    assert errors == (
        "chain.wallet: expected object or null, got str",
        "docker: expected object or null, got str",
    )


def test_container_env_values_become_strings() -> None:
    raw = {"containers": [container(env={"WORKERS": 2, "DEBUG": True, "RATE": 0.5, "X": "y"})]}
    env = parse_config(raw, env={}).config.containers[0].env
    assert env == {"WORKERS": "2", "DEBUG": "true", "RATE": "0.5", "X": "y"}


def test_container_env_rejects_nested_values_without_echoing_them() -> None:
    errors = _errors({"containers": [container(env={"KEY": {"secret": "hunter2"}})]})
    assert errors == ('containers[0].env["KEY"]: expected str, got object',)


@pytest.mark.parametrize(
    ("raw", "expected"), [("INFO", "info"), ("warning", "warning"), ("Debug", "debug")]
)
def test_log_level_is_case_insensitive(raw: str, expected: str) -> None:
    assert parse_config({"log": {"level": raw}}, env={}).config.log.level == expected


def test_enumerated_strings_list_the_choices() -> None:
    errors = _errors({"log": {"level": "verbose"}, "store": {"backend": "postgres"}})
    assert errors == (
        'log.level: expected one of "debug", "error", "info", "warning", got "verbose"',
        'store.backend: expected one of "redis", "sqlite", got "postgres"',
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"server": {"port": 0}}, "server.port: must be between 1 and 65535, got 0"),
        ({"redis": {"port": "70000"}}, 'redis.port: must be between 1 and 65535, got "70000"'),
        (
            {"server": {"rate_limit": {"num_requests": 0}}},
            "server.rate_limit.num_requests: must be positive, got 0",
        ),
        (
            {"server": {"rate_limit": {"period": -5}}},
            "server.rate_limit.period: must be positive, got -5",
        ),
        ({"startup_wait": -1}, "startup_wait: must not be negative, got -1"),
        (
            {"chain": {"snapshot_sync": {"batch_size": 0}}},
            "chain.snapshot_sync.batch_size: must be positive, got 0",
        ),
    ],
)
def test_numeric_ranges(raw: dict[str, Any], message: str) -> None:
    assert _errors(raw) == (message,)


def test_long_bad_values_are_shortened_in_messages() -> None:
    (error,) = _errors({"server": {"port": "x" * 500}})
    assert len(error) < 100 and error.endswith("...")
