"""When a tracked subscription is complete, so the scheduler may stop tracking it.

The scheduler keeps every subscription it might still act on in memory; this
module holds the one rule that says it never will again, apart from the actor
that holds the state, so the rule can be read and tested on its own.

A tracked subscription is *complete* when this node will never act on it again,
which is when no claim of it is open and either

* chain time is past its last interval (``Subscription.finished``: a recurring
  subscription after interval ``frequency``), or
* the claim of its last interval (``Subscription.last_interval``: ``frequency``,
  1 for a callback) is final: this node delivered it (its own delivery mined or
  seen in the logs), or skipped it (the redundancy was met: counted from the
  poller's logs for subscriptions seen created, read from the Reader when due for
  the others; or the delivery reverted with IntervalCompleted /
  NodeRespondedAlready), or gave up on it after bounded retries.

Either way the scheduler would never start anything for it again — a final claim
is exactly what stops an interval from running twice, and chain time there never
moves back — so forgetting it changes no decision; it only frees memory. Nothing
new is read to decide it (claims are local; the chain facts were read already).
On completion the scheduler untracks the subscription, gives its claims
``closes_at`` (so ``prune`` removes them after the retention), and tells the
poller to stop replaying it (``ForgetSubscriptions``, a ``tell``: the poller only
ever ``tell``s the scheduler, so neither side waits on the other). Reorgs: a
completion rests on claims and chain time, which a ``Rewound`` does not undo; the
poller keeps a done row until its block leaves the reorg window and a rewind
before it re-reads the subscription, which brings it back to be decided again. A
completion the poller never recorded (it was restarting) is decided again after
its replay, while the claim it rests on is still kept (the retention is far
longer than a restart).
"""

from __future__ import annotations

from collections.abc import Callable

from node.chain.subscription import Subscription
from node.store.claim_store import Claim


def completion_reason(sub: Subscription, now: int, *, has_open_claim: Callable[[], bool],
                      last_claim: Callable[[], Claim | None]) -> str | None:
    """Why ``sub`` is complete at chain time ``now``, or None while it is not.

    ``has_open_claim`` and ``last_claim`` (the claim of ``sub.last_interval``) are
    only called when the answer depends on them, so a caller pays for no look-up
    the chain time alone settles."""
    if not sub.active(now) or sub.interval(now) < sub.last_interval:
        return None  # claims are only made for the current interval: not final yet
    if has_open_claim():
        return None  # settling it decides again
    if sub.finished(now):
        return "past its last interval"
    last = last_claim()
    if last is None or not last.final:
        return None
    return f"last interval {last.state}"
