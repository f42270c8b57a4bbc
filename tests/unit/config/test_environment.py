"""Secrets from environment variables; the environment wins over the file."""

from __future__ import annotations

from typing import Any

import pytest

from node.config import ConfigError, masked_config, parse_config
from node.config.environment import bearer_var

from .conftest import TEST_KEY, container

OTHER_KEY = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # anvil #2


def test_private_key_from_environment_creates_the_wallet() -> None:
    raw = {"chain": {"enabled": True, "rpc_url": "http://anvil:8545",
                     "registry_address": "0x663F3ad617193148711d28f5334eE4Ed07016602"}}  # fmt: skip
    wallet = parse_config(raw, env={"INFERNET_PRIVATE_KEY": TEST_KEY}).config.chain.wallet
    assert wallet is not None
    assert wallet.private_key == "0x" + TEST_KEY
    assert wallet.max_gas_limit == 5_000_000


def test_private_key_from_environment_wins_over_the_file() -> None:
    raw = {"chain": {"wallet": {"private_key": TEST_KEY, "max_gas_limit": 7}}}
    wallet = parse_config(raw, env={"INFERNET_PRIVATE_KEY": OTHER_KEY}).config.chain.wallet
    assert wallet is not None
    assert wallet.private_key == "0x" + OTHER_KEY
    assert wallet.max_gas_limit == 7


def test_private_key_without_a_chain_section_or_with_null_wallet() -> None:
    for raw in ({}, {"chain": {"wallet": None}}):
        config = parse_config(raw, env={"INFERNET_PRIVATE_KEY": TEST_KEY}).config
        assert config.chain.wallet is not None


def test_bad_private_key_from_environment_names_the_variable_not_the_value() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({}, env={"INFERNET_PRIVATE_KEY": "not-a-key-at-all"})
    assert info.value.errors == (
        "chain.wallet.private_key: expected a 32-byte hex string (64 hex digits, 0x optional)"
        " (from environment variable INFERNET_PRIVATE_KEY)",
    )
    assert "not-a-key-at-all" not in str(info.value)


def test_docker_credentials_from_environment() -> None:
    env = {"INFERNET_DOCKER_USERNAME": "me", "INFERNET_DOCKER_PASSWORD": "pw"}
    docker = parse_config({}, env=env).config.docker
    assert docker is not None and (docker.username, docker.password) == ("me", "pw")

    raw = {"docker": {"username": "file-user", "password": "file-pw"}}
    docker = parse_config(raw, env={"INFERNET_DOCKER_PASSWORD": "env-pw"}).config.docker
    assert docker is not None and (docker.username, docker.password) == ("file-user", "env-pw")


def test_docker_password_alone_still_needs_a_username() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({}, env={"INFERNET_DOCKER_PASSWORD": "pw"})
    assert info.value.errors == ("docker.username: required",)


def test_redis_password_from_environment() -> None:
    raw = {"redis": {"password": "file"}}
    assert parse_config(raw, env={"INFERNET_REDIS_PASSWORD": "env"}).config.redis.password == "env"


@pytest.mark.parametrize(
    ("cid", "var"),
    [
        ("hello-world", "INFERNET_BEARER_HELLO_WORLD"),
        ("gpt4.v2", "INFERNET_BEARER_GPT4_V2"),
        ("Mixed_Case 1", "INFERNET_BEARER_MIXED_CASE_1"),
    ],
)
def test_bearer_variable_names(cid: str, var: str) -> None:
    assert bearer_var(cid) == var


def test_bearer_from_environment_goes_to_the_matching_container() -> None:
    raw: dict[str, Any] = {
        "manage_containers": False,
        "containers": [
            {"id": "remote-a", "url": "http://10.0.0.2:3000", "bearer": "file-token"},
            {"id": "remote-b", "url": "http://10.0.0.3:3000"},
        ],
    }
    env = {"INFERNET_BEARER_REMOTE_A": "env-a", "INFERNET_BEARER_REMOTE_C": "unused"}
    a, b = parse_config(raw, env=env).config.containers
    assert a.bearer == "env-a"
    assert b.bearer == ""


def test_empty_variables_count_as_unset() -> None:
    raw = {"redis": {"password": "file"}, "containers": [container(bearer="file")]}
    env = {"INFERNET_REDIS_PASSWORD": "", "INFERNET_BEARER_C": "", "INFERNET_PRIVATE_KEY": ""}
    config = parse_config(raw, env=env).config
    assert config.redis.password == "file"
    assert config.containers[0].bearer == "file"
    assert config.chain.wallet is None


def test_the_callers_document_is_not_modified() -> None:
    raw: dict[str, Any] = {"containers": [container()]}
    parse_config(raw, env={"INFERNET_BEARER_C": "tok", "INFERNET_PRIVATE_KEY": TEST_KEY})
    assert raw == {"containers": [container()]}


def test_environment_secrets_are_masked() -> None:
    env = {
        "INFERNET_PRIVATE_KEY": TEST_KEY,
        "INFERNET_DOCKER_USERNAME": "me",
        "INFERNET_DOCKER_PASSWORD": "pw-from-env",
        "INFERNET_REDIS_PASSWORD": "redis-from-env",
        "INFERNET_BEARER_C": "bearer-from-env",
    }
    masked = masked_config(parse_config({"containers": [container()]}, env=env).config)
    text = repr(masked)
    for value in env.values():
        if value != "me":
            assert value not in text
    assert masked["chain"]["wallet"]["private_key"] == "***"
    assert masked["docker"] == {"username": "me", "password": "***", "registry": None}
    assert masked["redis"]["password"] == "***"
    assert masked["containers"][0]["bearer"] == "***"
