from __future__ import annotations

import io

from node.progress import CountProgress, PullProgress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_count_progress_plain_lines_every_tenth_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = CountProgress("snapshot sync", 1000, out)
    for done in range(0, 1001, 50):
        progress.update(done)
    lines = out.getvalue().splitlines()
    assert lines[0] == "snapshot sync: 0/1000" and lines[-1] == "snapshot sync: 1000/1000"
    assert len(lines) == 11


def test_count_progress_redraws_one_line_on_a_terminal() -> None:
    out = Tty()
    progress = CountProgress("snapshot sync", 4, out)
    for done in range(5):
        progress.update(done)
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 5 and text.endswith("4/4\n")
    assert "[##############################]" in text


def test_pull_progress_writes_status_changes_only_off_a_terminal() -> None:
    out = io.StringIO()
    progress = PullProgress("img:1", out)
    for text in ("abc Downloading [=>  ] 1/9", "abc Downloading [==> ] 2/9", "abc Pull complete"):
        progress(text)
    progress.close()
    assert out.getvalue().splitlines() == ["img:1 abc Downloading", "img:1 abc Pull complete"]
