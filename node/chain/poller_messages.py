"""What the subscription poller tells its consumer (the scheduler), and what it answers.

Every message is idempotent: after a restart or a ``Rewound`` the poller may send
the same facts again, and the receiver must treat a repeat as a no-op (or as a
newer reading of the same subscription).
"""

from __future__ import annotations

import msgspec

from node.chain.subscription import Subscription


class SubscriptionsSeen(msgspec.Struct, frozen=True, tag=True):
    """New or re-read subscriptions, in id order, read at ``block``.

    ``snapshot`` is True for the startup sync and for replays from the poller's
    store. A subscription whose ``exists`` is False was dropped by a reorg.
    """

    subscriptions: tuple[Subscription, ...]
    block: int
    block_time: int
    snapshot: bool
    # Created in the blocks just processed: every log about them since their creation
    # follows in order (so the receiver can count fulfilments itself until a Rewound).
    created: bool = False


class SubscriptionCancelled(msgspec.Struct, frozen=True, tag=True):
    sub_id: int
    block: int


class IntervalFulfilled(msgspec.Struct, frozen=True, tag=True):
    """A ``SubscriptionFulfilled`` log: ``node`` delivered at ``block_time`` (the
    receiver derives the interval from it)."""

    sub_id: int
    node: str
    block: int
    block_time: int


class ChainHead(msgspec.Struct, frozen=True, tag=True):
    """One processed block; ``synced`` when it is the current trailing head."""

    block: int
    block_time: int
    synced: bool


class SnapshotDone(msgspec.Struct, frozen=True, tag=True):
    """The startup sync (or a replay from the store) is complete up to ``highest_id``."""

    highest_id: int
    block: int


class Rewound(msgspec.Struct, frozen=True, tag=True):
    """A reorg: what was learned after ``to_block`` may be wrong and is re-sent.

    Subscriptions last read after ``to_block`` follow at once as ``SubscriptionsSeen``
    read at ``to_block`` (``exists`` False for ones the reorg removed), then the logs
    after it are replayed. ``to_block == 0`` means no stored block is on the chain any
    more: forget everything; a fresh startup sync follows."""

    to_block: int


class HeadSeen(msgspec.Struct, frozen=True, tag=True):
    """Poller -> wallet after each poll (at least every second while polls succeed): the
    chain's latest head, its base fee when the poller read that header, and the
    transactions behind ``log_source``'s subscription logs in blocks ``logs[0]..logs[1]``
    (an empty range, ``logs[0] == logs[1] + 1``, when no new block was processed: every
    log up to ``logs[1]`` has been told before).

    A transaction in ``logged`` succeeded (a reverted one leaves no logs); one missing
    from it may have reverted, not be mined yet, or emit no such log: the wallet looks
    those up itself."""

    head: int
    base_fee: int | None
    log_source: str
    logs: tuple[int, int]
    logged: tuple[tuple[str, int], ...] = ()  # (transaction hash, block)
    heartbeat: float = 1.0  # seconds at most to the next HeadSeen while polls succeed


PollerEvent = (
    SubscriptionsSeen | SubscriptionCancelled | IntervalFulfilled | ChainHead | SnapshotDone
    | Rewound
)


class ForgetSubscriptions(msgspec.Struct, frozen=True, tag=True):
    """Consumer -> poller (``tell``): these subscriptions will never be due for this node
    again; stop replaying them. ``block`` is the consumer's last ``ChainHead``: a
    poller whose cursor has since been rewound below it ignores the message (what it
    was decided from may be gone; the consumer decides again on the new chain's
    facts, or after the next replay)."""

    sub_ids: tuple[int, ...]
    block: int


class SyncStatus(msgspec.Struct, frozen=True, tag=True):
    """Ask the poller: answers a ``SyncReport``."""


class SyncReport(msgspec.Struct, frozen=True):
    cursor_block: int | None
    head: int | None
    highest_id: int
    tracked: int  # subscriptions replayed after a restart (done ones are not)
    lag: int | None  # trailing head minus cursor; None before the first poll
    snapshot_done: bool = False
    failing_reads: int = 0  # consecutive retryable failures (RPC down, 429) right now
