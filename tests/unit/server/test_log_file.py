"""Issue point 4: JSON lines on stdout and in a rotating file when log.path is set."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.jsonlog import configure_logging


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        handler.close()
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_rotating_file_keeps_backup_count_files_of_bounded_size(
        tmp_path: Path, restore_root_logging: None) -> None:
    path = tmp_path / "node.log"
    stdout = io.StringIO()
    configure_logging("info", path=str(path), max_bytes=2000, backup_count=2, stream=stdout)
    log = logging.getLogger("test.rotation")
    for n in range(200):
        log.info("job finished", extra={"job_id": f"job-{n}", "private_key": "0xdead"})
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["node.log", "node.log.1", "node.log.2"]
    for name in files:
        text = (tmp_path / name).read_text()
        assert (tmp_path / name).stat().st_size <= 2000
        assert "0xdead" not in text
        for line in text.splitlines():
            assert json.loads(line)["event"] == "job finished"
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["job_id"] == "job-199"
    assert len(stdout.getvalue().splitlines()) == 200


def test_level_from_configuration(tmp_path: Path, restore_root_logging: None) -> None:
    stdout = io.StringIO()
    configure_logging("warning", stream=stdout)
    logging.getLogger("test.level").info("hidden")
    logging.getLogger("test.level").warning("shown")
    assert [json.loads(line)["event"] for line in stdout.getvalue().splitlines()] == ["shown"]
