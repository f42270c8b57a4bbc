"""Small StatsSnapshot values for tests."""

from __future__ import annotations

from node.stats.figures import ContainerFigures, JobFigures, StatsSnapshot


def snapshot(seq: int) -> StatsSnapshot:
    """A snapshot whose ``jobs.succeeded`` is ``seq``, so order survives the trip."""
    return StatsSnapshot(
        node_id="n1", version="1.4.0", taken_at=1_700_000_000.0 + seq, uptime_seconds=seq,
        jobs=JobFigures(running_offchain=0, running_onchain=0, succeeded=seq, failed=0),
        containers=(ContainerFigures(name="echo", state="ready", restarts=0, in_flight=0,
                                     succeeded=seq, failed=0, busy_seconds=0.5 * seq),),
        actor_restarts={},
    )
