"""An actor crashed on purpose restarts alone while jobs keep flowing (issue 4, point 8)."""

from __future__ import annotations

import contextlib
import http.client
import re
from pathlib import Path

import pytest

from tests.chain_support import deployed_chain
from tests.integration.node_chain.support import ZERO, chain_node, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.slow]

ACTORS = ("wallet", "chain-scheduler", "chain-poller", "router", "executor:echo", "stats")


def restarts(node, actor: str) -> int:
    _, body = node.request("GET", "/metrics")
    text = body.decode() if isinstance(body, bytes) else str(body)
    match = re.search(
        r'^infernet_actor_restarts_total\{actor="' + re.escape(actor) + r'"\} (\d+(?:\.\d+)?)',
        text, re.M)
    return int(float(match.group(1))) if match else 0


def test_each_actor_restarts_alone_while_work_flows(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERNET_FAULT_INJECTION", "1")
    with deployed_chain() as session:
        cb = session.contract("ExampleCallbackConsumer", session.deployment.callback_consumer)
        limit = {"max_restarts": len(ACTORS) + 1, "within": 600}
        with chain_node(session, tmp_path, {"echo": "echo"}, supervisor=limit) as node:
            for round_, actor in enumerate(ACTORS):
                status, body = node.request("POST", f"/debug/crash/{actor}")
                assert status == 200, body
                wait_until(lambda a=actor: restarts(node, a) >= 1, 20, f"{actor} to restart")
                others = [a for a in ACTORS if a not in (actor, "stats") and a not in
                          ACTORS[:round_]]
                assert all(restarts(node, a) == 0 for a in others), others
                # Work keeps flowing: an off-chain job and an on-chain request both complete.
                job = node.wait_result(node.submit(["echo"], {"round": round_}), timeout=20)
                assert job["status"] == "success"
                before = cb.functions.deliveryCount().call()
                session.transact(cb.functions.requestCompute(
                    "echo", f"round {round_}".encode(), 1, ZERO, 0, ZERO, ZERO),
                    session.consumer)
                wait_until(lambda b=before: cb.functions.deliveryCount().call() > b, 30,
                           f"a delivery after crashing {actor}\n{node.log()}")
            status, _ = node.request("GET", "/health")
            assert status == 200
            status, _ = node.request("POST", "/debug/crash/nobody")
            assert status == 404
            # Beyond the restart limit the supervisor escalates: the node exits with status 4
            # so that systemd or Docker restarts it whole, instead of limping on.
            node.request("POST", "/debug/crash/router")  # the limit's last allowed restart
            wait_until(lambda: restarts(node, "router") >= 2, 20, "the router to restart")
            # One too many. The node may exit while it is still writing this answer.
            with contextlib.suppress(http.client.HTTPException, ConnectionError):
                node.request("POST", "/debug/crash/router")
            assert node.wait_exit(30) == 4
            assert any('"supervisor escalates"' in line for line in node.output)
