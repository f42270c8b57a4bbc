"""Who delivered each recent interval of a subscription, counted from the poller's logs.

For a subscription the poller saw created, every fulfilment since was told to the
scheduler, so how full an interval is can be counted here instead of read from
the Reader when the interval falls due. Only the last few intervals are kept, to
bound memory; older ones are unknown again (and are read as for any other
subscription).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FulfilmentCounts:
    """Who delivered each recent interval of one subscription, counted from its creation
    (sets: the poller may tell a log twice). Intervals before ``forgotten_below`` were
    dropped to bound memory, and are unknown again."""

    nodes: dict[int, set[str]] = field(default_factory=dict)
    forgotten_below: int = 0
    KEEP = 4

    def add(self, interval: int, node: str) -> None:
        self.nodes.setdefault(interval, set()).add(node.lower())
        if len(self.nodes) > self.KEEP:
            oldest = min(self.nodes)
            del self.nodes[oldest]
            self.forgotten_below = max(self.forgotten_below, oldest + 1)

    def count(self, interval: int) -> int | None:
        """How many nodes delivered ``interval``; None when it is no longer known."""
        if interval < self.forgotten_below:
            return None
        return len(self.nodes.get(interval, ()))
