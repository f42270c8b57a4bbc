from __future__ import annotations

import json
from typing import Any

import msgspec

from node.config import Config, load_config, parse_config
from node.config.schema import ZERO_ADDRESS

from .conftest import FIXTURES, REPO_ROOT, TEST_ADDRESS


def test_original_sample_loads_unchanged_without_warnings() -> None:
    loaded = load_config(str(FIXTURES / "original.sample.json"), env={})

    config = loaded.config
    assert loaded.warnings == ()
    assert loaded.path.endswith("original.sample.json")
    assert config.manage_containers is True
    assert config.server.rate_limit.num_requests == 100
    assert config.chain.enabled is True
    assert config.chain.trail_head_blocks == 5
    assert config.chain.wallet is not None
    assert config.chain.wallet.payment_address == TEST_ADDRESS
    assert config.chain.wallet.allowed_sim_errors == ("not enough balance",)
    assert config.chain.snapshot_sync.batch_size == 1800
    assert config.docker is not None and config.docker.username == "username"
    (hello,) = config.containers
    assert hello.port == 3000  # the sample writes "3000"
    assert hello.command == "--bind=0.0.0.0:3000 --workers=2"
    assert hello.accepted_payments[ZERO_ADDRESS] == 10**18
    assert config.container("hello-world") is hello


def test_repository_sample_loads_cleanly() -> None:
    loaded = load_config(str(REPO_ROOT / "config.sample.json"), env={})

    assert loaded.warnings == ()
    assert loaded.config.chain.enabled is False
    assert loaded.config.store.backend == "sqlite"
    assert [c.id for c in loaded.config.containers] == ["hello-world"]
    assert loaded.config.containers[0].image == "infernet-test/echo:latest"


def test_empty_object_gives_the_original_defaults() -> None:
    config = parse_config({}, env={}).config

    assert config.containers == ()
    assert config.chain.enabled is False
    assert config.chain.wallet is None
    assert config.chain.snapshot_sync.batch_size == 500
    assert config.docker is None
    assert config.forward_stats is True
    assert config.log.path == "infernet_node.log"
    assert config.log.max_file_size == 2**30
    assert config.manage_containers is True
    assert config.redis.host == "redis" and config.redis.port == 6379
    assert config.server.port == 4000
    assert config.server.rate_limit.period == 60
    assert config.startup_wait == 5.0


def test_loaded_config_equals_strict_msgspec_decoding_of_a_clean_file(
    original_sample: dict[str, Any],
) -> None:
    original_sample["containers"][0]["port"] = 3000  # strictly typed
    strict = msgspec.json.decode(json.dumps(original_sample).encode(), type=Config)

    assert parse_config(original_sample, env={}).config == strict


def test_loaded_config_is_frozen() -> None:
    config = parse_config({}, env={}).config
    try:
        config.server = config.server  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("Config must be immutable")
