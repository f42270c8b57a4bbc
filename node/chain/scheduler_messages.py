"""Requests to the chain scheduler from outside the chain actors."""

from __future__ import annotations

import msgspec

from node.chain.delegation import DelegatedRequest


class TrackDelegated(msgspec.Struct, frozen=True, tag=True):
    """Ask: deliver this verified delegated subscription's result on-chain once its job
    finishes. Answered True when accepted."""

    request: DelegatedRequest


class SchedulerStatus(msgspec.Struct, frozen=True, tag=True):
    """Ask: figures for stats and tests; answered with ``SchedulerReport``."""


class SchedulerReport(msgspec.Struct, frozen=True):
    tracked: int
    chain_time: int
    head_block: int
    open_claims: int
    delivered: int
    failed: int
