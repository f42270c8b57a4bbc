from __future__ import annotations

import psutil

from node.stats.figures import GpuFigures
from node.stats.system import sample_system

GPU = GpuFigures(index=0, name="T4")


def test_samples_this_host(tmp_path):
    figures = sample_system(str(tmp_path), gpus=lambda: (GPU,))
    assert figures.cpu_count == psutil.cpu_count()
    assert 0.0 <= figures.cpu_percent <= 100.0
    assert 0 < figures.memory_used_bytes <= figures.memory_total_bytes
    assert figures.memory_total_bytes == psutil.virtual_memory().total
    assert figures.disk_path == str(tmp_path)
    assert 0 < figures.disk_used_bytes <= figures.disk_total_bytes
    assert figures.gpus == (GPU,)


def test_a_data_dir_not_created_yet_is_measured_on_its_parent(tmp_path):
    figures = sample_system(str(tmp_path / "data" / "deeper"), gpus=lambda: ())
    assert figures.disk_path == str(tmp_path)
    assert figures.disk_total_bytes == psutil.disk_usage(str(tmp_path)).total
