"""GPU figures from ``nvidia-smi``, only when the binary is on this host.

The query asks for CSV without header or units, one line per GPU, in the order
of ``QUERY_FIELDS``. nvidia-smi prints ``[N/A]`` (or ``[Not Supported]``) for a
value a GPU does not report; such a value becomes ``None``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

from node.stats.figures import GpuFigures

log = logging.getLogger(__name__)

QUERY_FIELDS = ("index", "name", "utilization.gpu", "memory.used", "memory.total",
                "temperature.gpu")
MIB = 1024 * 1024


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]" and the like


def _mib(text: str) -> int | None:
    value = _number(text)
    return None if value is None else int(value * MIB)


def parse_gpu_csv(text: str) -> tuple[GpuFigures, ...]:
    """Parses ``--format=csv,noheader,nounits`` output; malformed lines are skipped."""
    gpus: list[GpuFigures] = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(QUERY_FIELDS) or not cells[0].isdigit():
            if line.strip():
                log.debug("unreadable nvidia-smi line", extra={"line": line[:200]})
            continue
        index, name, util, used, total, temp = cells
        gpus.append(GpuFigures(index=int(index), name=name, utilization_percent=_number(util),
                               memory_used_bytes=_mib(used), memory_total_bytes=_mib(total),
                               temperature_celsius=_number(temp)))
    return tuple(gpus)


def read_gpus(binary: str = "nvidia-smi", timeout: float = 5.0) -> tuple[GpuFigures, ...]:
    """Empty when nvidia-smi is absent or fails; a failure is logged, never raised."""
    path = shutil.which(binary)
    if path is None:
        return ()
    try:
        done = subprocess.run(
            [path, f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("nvidia-smi failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return ()
    if done.returncode != 0:
        log.warning("nvidia-smi failed", extra={"exit_status": done.returncode,
                                                "stderr": done.stderr.strip()[:200]})
        return ()
    return parse_gpu_csv(done.stdout)
