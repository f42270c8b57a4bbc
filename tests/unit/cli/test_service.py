"""``infernet-node install-service``: the unit it writes, checked by systemd itself."""

from __future__ import annotations

import getpass
import io
import json
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from node.cli import main
from node.cli.service import default_layout_unit

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def unit_settings(unit: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "etc" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({
        "server": {"graceful_timeout": 100},
        "store": {"data_dir": str(tmp_path / "state")},
        "log": {"path": "logs/node.log"},
    }))
    return path


def test_deploy_unit_is_the_renderers_default_layout() -> None:
    assert (REPO_ROOT / "deploy" / "infernet-node.service").read_text() == default_layout_unit()


def test_dry_run_prints_a_unit_for_this_installation(config_path: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    code, out, _ = run_cli("install-service", "--dry-run", "--config", str(config_path),
                           "--user", "nobody", "--working-dir", str(work),
                           "--executable", sys.executable)
    assert code == 0
    s = unit_settings(out)
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["all"]
    assert s["Restart"] == ["on-failure"]
    assert s["ExecStart"] == [f"{sys.executable} run --config {config_path}"]
    assert s["User"] == ["nobody"]
    assert s["WorkingDirectory"] == [str(work)]
    assert s["SupplementaryGroups"] == ["docker"]
    # graceful drain 100 s + container stops 30 s + margin 30 s
    assert s["TimeoutStopSec"] == ["160"]
    assert int(s["WatchdogSec"][0]) > 0
    assert s["ReadWritePaths"] == [f"{work} {tmp_path / 'state'}"]
    # The installation lives under /tmp here: a private /tmp would hide it.
    assert s["PrivateTmp"] == ["no"]


def test_default_layout_hardening() -> None:
    s = unit_settings(default_layout_unit())
    assert s["ProtectSystem"] == ["strict"] and s["NoNewPrivileges"] == ["yes"]
    assert s["ProtectHome"] == ["yes"] and s["PrivateTmp"] == ["yes"]
    assert s["ReadWritePaths"] == ["/var/lib/infernet-node"]
    assert "AF_UNIX" in s["RestrictAddressFamilies"][0]  # the Docker socket
    assert s["TimeoutStopSec"] == ["90"]


def test_writes_the_unit_file(config_path: Path, tmp_path: Path) -> None:
    output = tmp_path / "units" / "infernet-node.service"
    code, out, _ = run_cli("install-service", "--config", str(config_path),
                           "--output", str(output), "--executable", sys.executable)
    assert code == 0
    assert "systemctl daemon-reload" in out
    assert unit_settings(output.read_text())["User"] == [getpass.getuser()]


def test_unwritable_output_is_a_clear_error(config_path: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli("install-service", "--config", str(config_path),
                           "--output", str(blocker / "unit.service"),
                           "--executable", sys.executable)
    assert code == 1
    assert err.startswith(f"error: cannot write {blocker / 'unit.service'}: ")


def test_bad_config_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"server": {"port": "four thousand"}}))
    code, out, err = run_cli("install-service", "--dry-run", "--config", str(path))
    assert code == 1 and out == ""
    assert "server.port" in err


def test_systemd_accepts_the_unit(config_path: Path, tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    code, out, _ = run_cli("install-service", "--dry-run", "--config", str(config_path),
                           "--executable", sys.executable)
    assert code == 0
    unit = tmp_path / "infernet-node.service"
    unit.write_text(out)
    result = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "infernet-node.service" not in result.stderr, result.stderr
