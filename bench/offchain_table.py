"""The one table the benchmark prints: metric, value, target, original, pass/fail."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    metric: str
    value: float
    unit: str
    target: str = "-"
    original: str = "-"
    check: Callable[[float], bool] | None = None

    def verdict(self) -> str:
        if self.check is None:
            return "info"
        if math.isnan(self.value):
            return "n/a"
        return "PASS" if self.check(self.value) else "FAIL"

    def shown_value(self) -> str:
        if math.isnan(self.value):
            return "n/a"
        digits = 0 if abs(self.value) >= 100 else 2
        return f"{self.value:,.{digits}f} {self.unit}"


def at_least(limit: float) -> Callable[[float], bool]:
    return lambda v: v >= limit


def below(limit: float) -> Callable[[float], bool]:
    return lambda v: v < limit


def render(rows: list[Row]) -> str:
    header = ("metric", "value", "target", "original", "pass/fail")
    cells = [header] + [(r.metric, r.shown_value(), r.target, r.original, r.verdict())
                        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    aligns = ["<", ">", "<", "<", "<"]

    def line(row: tuple[str, ...]) -> str:
        padded = (f"{v:{a}{w}}" for v, a, w in zip(row, aligns, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(c) for c in cells[1:])])
