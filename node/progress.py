"""Progress displays for long operations the operator waits on: image pulls, snapshot sync.

On a terminal a line is redrawn in place; elsewhere (journald, files, pipes) only
changes are written, one plain line each, so logs do not fill with bars. They
write to stderr: stdout carries the node's JSON log lines.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO


class PullProgress:
    """A ``progress`` callback for image pulls (``DockerManager.ensure_image``).

    On a terminal the current layer's line is rewritten in place and kept when
    its status changes; elsewhere (journald, files) only status changes are
    written, one plain line each, so logs do not fill with progress bars.
    """

    def __init__(self, image: str, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._image = image
        self._tty = self._out.isatty()
        self._last: dict[str, str] = {}
        self._open_line = False

    def __call__(self, text: str) -> None:
        layer, _, rest = text.partition(" ")
        status = rest.split(" [", 1)[0] if rest else layer
        key = layer if rest else ""
        changed = self._last.get(key) != status
        self._last[key] = status
        if self._tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            line = f"{self._image} {text}"[:width]
            if changed and self._open_line:
                self._out.write("\n")
            self._out.write("\r\x1b[K" + line)
            self._open_line = True
        elif changed:
            self._out.write(f"{self._image} {key + ' ' if key else ''}{status}\n")
        self._out.flush()

    def close(self) -> None:
        if self._tty and self._open_line:
            self._out.write("\n")
            self._out.flush()
        self._open_line = False


class CountProgress:
    """``done / total`` of a counted job (e.g. subscriptions synced)."""

    def __init__(self, label: str, total: int, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._label = label
        self._total = max(total, 0)
        self._tty = self._out.isatty()
        self._last_step = -1

    def update(self, done: int) -> None:
        total = self._total or 1
        fraction = min(max(done / total, 0.0), 1.0)
        if self._tty:
            width = 30
            filled = int(fraction * width)
            bar = "#" * filled + "-" * (width - filled)
            self._out.write(f"\r\x1b[K{self._label} [{bar}] {done}/{self._total}")
            if done >= self._total:
                self._out.write("\n")
        else:
            step = int(fraction * 10)  # a plain line every tenth
            if step == self._last_step:
                return
            self._last_step = step
            self._out.write(f"{self._label}: {done}/{self._total}\n")
        self._out.flush()
