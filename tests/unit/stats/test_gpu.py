from __future__ import annotations

import os
import stat
from pathlib import Path

from node.stats.gpu import QUERY_FIELDS, parse_gpu_csv, read_gpus

MIB = 1024 * 1024

# As printed by nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits
TWO_GPUS = """\
0, NVIDIA A100-SXM4-80GB, 37, 20480, 81920, 45
1, NVIDIA A100-SXM4-80GB, 0, 4, 81920, 31
"""


def test_parses_one_struct_per_gpu():
    gpus = parse_gpu_csv(TWO_GPUS)
    assert [g.index for g in gpus] == [0, 1]
    first = gpus[0]
    assert first.name == "NVIDIA A100-SXM4-80GB"
    assert first.utilization_percent == 37.0
    assert first.memory_used_bytes == 20480 * MIB
    assert first.memory_total_bytes == 81920 * MIB
    assert first.temperature_celsius == 45.0
    assert gpus[1].memory_used_bytes == 4 * MIB


def test_values_a_gpu_does_not_report_become_none():
    [gpu] = parse_gpu_csv("0, Tesla K80, [N/A], 10, 11441, [Not Supported]\n")
    assert gpu.utilization_percent is None and gpu.temperature_celsius is None
    assert gpu.memory_used_bytes == 10 * MIB


def test_malformed_lines_are_skipped():
    text = "No devices were found\n\n0, T4, 1, 2, 3\n2, T4, 5, 6, 7, 8\n"
    gpus = parse_gpu_csv(text)
    assert [g.index for g in gpus] == [2]


def _fake_binary(directory: Path, script: str) -> str:
    path = directory / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_absent_binary_means_no_gpus(tmp_path):
    assert read_gpus(str(tmp_path / "no-such-nvidia-smi")) == ()


def test_reads_a_real_binary_with_the_documented_query(tmp_path, monkeypatch):
    args_file = tmp_path / "args"
    binary = _fake_binary(tmp_path, f'echo "$@" > {args_file}\nprintf "%s" "{TWO_GPUS}"\n')
    gpus = read_gpus(binary)
    assert len(gpus) == 2
    args = args_file.read_text().split()
    assert args == [f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits"]


def test_a_failing_binary_means_no_gpus(tmp_path, caplog):
    binary = _fake_binary(tmp_path, 'echo "NVIDIA-SMI has failed" >&2\nexit 9\n')
    assert read_gpus(binary) == ()
    assert any("nvidia-smi failed" in r.getMessage() for r in caplog.records)


def test_found_on_path(tmp_path, monkeypatch):
    _fake_binary(tmp_path, f'printf "%s" "{TWO_GPUS}"\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert [g.index for g in read_gpus()] == [0, 1]
