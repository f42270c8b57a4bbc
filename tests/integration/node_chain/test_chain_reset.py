"""A dev chain started afresh under the same data dir is served from scratch.

The second chain reuses every address and subscription id of the first one, so the
node's stored claims and nonces from the first chain would be wrong for it (the first
quickstart re-run delivered nothing until this was handled).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chain_support import deployed_chain
from tests.integration.node_chain.support import ZERO, chain_node, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_a_restarted_dev_chain_gets_its_requests_delivered(tmp_path: Path) -> None:
    for run in (1, 2):
        with deployed_chain() as session:
            cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
            with chain_node(session, tmp_path, {"echo": "echo"}) as node:
                session.transact(cb.functions.requestCompute(
                    "echo", f"run {run}".encode(), 1, ZERO, 0, ZERO, ZERO), session.consumer)
                wait_until(lambda cb=cb: cb.functions.deliveryCount().call() >= 1, 30,
                           f"delivery on chain {run}\n{node.log()}")
                if run == 2:
                    assert any("belongs to another chain" in line for line in node.output)
    set_aside = list((tmp_path / "data").glob("chain.sqlite3.31337-*"))
    assert [p.name for p in set_aside if not p.name.endswith(("-wal", "-shm"))], set_aside
