from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from node.cli import build_parser, main
from node.cli.logs import parse_since


@pytest.mark.parametrize("command", ["run", "check-config", "logs", "jobs"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: infernet-node" in capsys.readouterr().out


def test_devchain_help_reaches_its_own_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["devchain", "--help"])
    assert exc.value.code == 0
    assert "--write-config" in capsys.readouterr().out


def test_jobs_actions_parse() -> None:
    args = build_parser().parse_args(["jobs", "--url", "http://x:1", "get", "a", "b"])
    assert args.ids == ["a", "b"] and args.url == "http://x:1"


def test_parse_since_forms() -> None:
    assert parse_since("10m", now=1000.0) == 400.0
    assert parse_since("2h", now=10_000.0) == 2_800.0
    assert parse_since("1700000000") == 1_700_000_000.0
    assert parse_since("2023-11-14T22:13:20Z") == 1_700_000_000.0
    with pytest.raises(argparse.ArgumentTypeError, match="--since"):
        parse_since("yesterday")


def test_check_config_lists_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"containers": [
        {"id": "a", "image": "x", "port": "abc"},
        {"id": "a", "image": "y", "port": 3001},
    ]}))
    assert main(["check-config", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "containers[0].port" in err
    assert "duplicate" in err.lower()


def test_check_config_masks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = "0x" + "ab" * 32
    path = tmp_path / "config.json"
    path.write_text(json.dumps({
        "chain": {"enabled": True, "rpc_url": "http://localhost:8545",
                  "registry_address": "0x" + "11" * 20, "wallet": {"private_key": key}},
        "containers": [{"id": "a", "image": "x", "bearer": "tok3n"}],
    }))
    assert main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert key[2:] not in out and "tok3n" not in out
    assert json.loads(out)["chain"]["wallet"]["private_key"] == "***"


def test_run_with_a_bad_config_exits_1_listing_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"server": {"port": "not a port"}}')
    assert main(["run", "--config", str(path)]) == 1
    assert "server.port" in capsys.readouterr().err
