"""Reading the file, masked output and the check-config command."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from node.config import (
    ConfigError,
    check_config_command,
    load_config,
    masked_config,
    parse_config,
)

from .conftest import FIXTURES, TEST_KEY, container


def _write(tmp_path: Path, content: str | dict[str, Any], name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_path_argument_wins_over_the_environment(tmp_path: Path) -> None:
    chosen = _write(tmp_path, {"startup_wait": 1}, "chosen.json")
    other = _write(tmp_path, {"startup_wait": 2}, "other.json")
    loaded = load_config(str(chosen), env={"INFERNET_CONFIG_PATH": str(other)})
    assert loaded.config.startup_wait == 1.0
    assert loaded.path == str(chosen)


def test_path_from_environment(tmp_path: Path) -> None:
    other = _write(tmp_path, {"startup_wait": 2}, "other.json")
    loaded = load_config(None, env={"INFERNET_CONFIG_PATH": str(other)})
    assert loaded.config.startup_wait == 2.0
    assert loaded.path == str(other)


def test_default_path_is_config_json_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, {"startup_wait": 3})
    monkeypatch.chdir(tmp_path)
    loaded = load_config(env={})
    assert loaded.path == "config.json"
    assert loaded.config.startup_wait == 3.0


def test_env_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, {})
    monkeypatch.setenv("INFERNET_CONFIG_PATH", str(path))
    monkeypatch.setenv("INFERNET_REDIS_PASSWORD", "from-os")
    assert load_config().config.redis.password == "from-os"
    assert parse_config({}).config.redis.password == "from-os"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    assert info.value.errors == (f"{path}: file not found",)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path), env={})
    (error,) = info.value.errors
    assert error.startswith(f"{tmp_path}: cannot read: ")


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n  "server": {"port": 4000,}\n}\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    (error,) = info.value.errors
    assert error.startswith(f"{path}:2:27: invalid JSON: ")


@pytest.mark.parametrize("text", ['{"startup_wait": NaN}', '{"startup_wait": Infinity}'])
def test_non_json_constants_are_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(_write(tmp_path, text)), env={})
    (error,) = info.value.errors
    assert "invalid JSON" in error


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"log": {"path": "\xff"}}')
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    assert info.value.errors == (f"{path}: not UTF-8 text (byte 18)",)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"startup_wait": 4}).encode())
    assert load_config(str(path), env={}).config.startup_wait == 4.0


def test_huge_integers_in_the_file_are_exact(tmp_path: Path) -> None:
    amount = 340282366920938463463374607431768211457  # 2**128 + 1
    text = (
        '{"containers": [{"id": "c", "image": "i", "accepted_payments": '
        '{"0x0000000000000000000000000000000000000000": ' + str(amount) + "}}]}"
    )
    config = load_config(str(_write(tmp_path, text)), env={}).config
    assert list(config.containers[0].accepted_payments.values()) == [amount]


def test_config_error_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, {"server": {"port": "x"}, "redis": {"port": "y"}})
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"invalid config {path} (2 errors):")


# --- masked_config -------------------------------------------------------------------


def test_masked_config_is_json_and_masks_only_set_secrets() -> None:
    raw = {
        "chain": {"wallet": {"private_key": TEST_KEY}},
        "containers": [container(env={"API_KEY": "sk-live-123", "MODE": "fast"})],
    }
    masked = masked_config(parse_config(raw, env={}).config)
    assert json.loads(json.dumps(masked)) == masked
    assert masked["chain"]["wallet"]["private_key"] == "***"
    assert masked["containers"][0]["bearer"] == ""  # unset stays visibly unset
    assert masked["redis"]["password"] is None
    assert masked["docker"] is None
    assert masked["containers"][0]["env"] == {"API_KEY": "***", "MODE": "***"}
    assert TEST_KEY not in json.dumps(masked) and "sk-live-123" not in json.dumps(masked)


def test_masked_config_keeps_everything_else() -> None:
    config = load_config(str(FIXTURES / "original.sample.json"), env={}).config
    masked = masked_config(config)
    assert masked["server"]["rate_limit"] == {"num_requests": 100, "period": 100}
    assert masked["containers"][0]["port"] == 3000
    assert (
        masked["containers"][0]["accepted_payments"]["0x59F2f1fCfE2474fD5F0b9BA1E73ca90b143Eb8d0"]
        == 10**18
    )
    assert masked["docker"]["username"] == "username"


# --- check-config ----------------------------------------------------------------------


def _check(path: Path | None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_config_command(str(path) if path else None, env or {}, out, err)
    return code, out.getvalue(), err.getvalue()


def test_check_config_prints_the_masked_effective_config(tmp_path: Path) -> None:
    raw = {"log_path": "x", "containers": [container(bearer="tok")]}
    code, out, err = _check(_write(tmp_path, raw), env={"INFERNET_REDIS_PASSWORD": "rpw"})

    assert code == 0
    printed = json.loads(out)
    assert printed["containers"][0]["bearer"] == "***"
    assert printed["redis"]["password"] == "***"
    assert printed["server"]["port"] == 4000
    assert "tok" not in out and "rpw" not in out
    assert out.startswith("{\n  ")  # indented
    assert err.splitlines() == [
        "warning: log_path: unknown key, ignored (replaced by log.path in v1.1.0)",
        "warning: containers[0].bearer: set while manage_containers is true; "
        "it is sent to the managed container",
    ]


def test_check_config_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    raw = {
        "mystery": True,
        "chain": {"wallet": {"private_key": "topsecretvalue"}},
        "containers": [container(id="a"), container(id="a", port="x")],
    }
    code, out, err = _check(_write(tmp_path, raw))

    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "warning: mystery: unknown key, ignored",
        'error: containers[1].port: expected int, got "x"',
        "error: chain.wallet.private_key: expected a 32-byte hex string "
        "(64 hex digits, 0x optional)",
        'error: containers[1].id: duplicate id "a" (also containers[0].id)',
    ]
    assert "topsecretvalue" not in err


def test_check_config_uses_the_environment_path(tmp_path: Path) -> None:
    path = _write(tmp_path, {})
    code, out, _ = _check(None, env={"INFERNET_CONFIG_PATH": str(path)})
    assert code == 0 and json.loads(out)["startup_wait"] == 5.0


def test_check_config_missing_file(tmp_path: Path) -> None:
    code, out, err = _check(tmp_path / "nope.json")
    assert (code, out) == (1, "")
    assert err == f"error: {tmp_path / 'nope.json'}: file not found\n"
