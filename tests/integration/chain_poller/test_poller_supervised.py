"""The poller under a real supervisor: an unexpected failure restarts it, and the
replacement resumes from the stored cursor instead of syncing again."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.base import ChildContext
from actors.chain_poller import SubscriptionPollerActor
from actors.directory import Directory
from actors.restart_policy import RestartPolicy
from actors.supervisor import ChildSpec, StartChildren, StopChildren, Supervisor, SupervisorStatus
from node.chain.poller_messages import SnapshotDone
from node.chain.rpc import HttpRpc
from node.chain.seed_load import create_subscriptions
from node.store.chain_db import ChainDb
from tests.chain_support import DEPLOYER_KEY, ChainSession
from tests.contracts.helpers import request_callback
from tests.integration.chain_poller.support import CONSUMER, POLLER, MessageLog, Recorder

pytestmark = pytest.mark.chain


class BrokenOnce:
    """The real RPC, except that one eth_getLogs answer is garbage once armed."""

    def __init__(self, rpc: HttpRpc) -> None:
        self._rpc = rpc
        self.armed = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rpc, name)

    def get_logs(self, *args: Any) -> list[dict[str, Any]]:
        logs = self._rpc.get_logs(*args)
        if self.armed.is_set():
            self.armed.clear()
            return [{"topics": ["0x1234"], "blockNumber": "0x1"}]
        return logs


def test_a_failed_poller_is_restarted_and_resumes_from_its_cursor(
        fresh_chain: ChainSession, tmp_path: Path) -> None:
    create_subscriptions(fresh_chain.w3, fresh_chain.deployment, DEPLOYER_KEY, 60)
    rpc = BrokenOnce(HttpRpc(fresh_chain.anvil.rpc_url))
    db = ChainDb(str(tmp_path / "chain.sqlite3"))
    log = MessageLog()
    directory = Directory()

    def poller(ctx: ChildContext) -> pykka.ActorRef[Any]:
        return SubscriptionPollerActor.start(
            ctx, rpc=rpc, coordinator_address=fresh_chain.deployment.coordinator,
            reader_address=fresh_chain.deployment.reader, db=db, consumer=CONSUMER,
            trail_head_blocks=0, batch_size=10, batch_sleep=0.01, sync_period=0.05)

    specs = [ChildSpec(CONSUMER, lambda ctx: Recorder.start(ctx, log)),
             ChildSpec(POLLER, poller)]
    supervisor = Supervisor.start(specs, directory,
                                  policy=RestartPolicy(backoff_initial=0.05, backoff_max=0.1))
    try:
        supervisor.ask(StartChildren(), timeout=30)
        log.wait_for(MessageLog.snapshot_done, what="SnapshotDone")
        reads_before = rpc.calls_by_method.get("eth_call", 0)
        rpc.armed.set()
        created = request_callback(fresh_chain)
        log.wait_for(lambda got: created in got.subscriptions(), what="the new subscription")

        status = {c.name: c for c in supervisor.ask(SupervisorStatus(), timeout=10)}
        assert status[POLLER].restarts == 1 and status[POLLER].state == "running"
        assert "malformed Coordinator log" in status[POLLER].last_error
        # Replayed from the store, not read again: one Reader batch for the new id.
        assert [m.highest_id for m in log.all(SnapshotDone)] == [60, 60]
        assert rpc.calls_by_method.get("eth_call", 0) - reads_before <= 1
    finally:
        supervisor.ask(StopChildren(), timeout=30)
        supervisor.stop()
        db.close()
