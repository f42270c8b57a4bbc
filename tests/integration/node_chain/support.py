"""A real node process serving a real anvil chain, with workflow servers as subprocesses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode

from node.chain.devchain import NODE_KEY
from tests.chain_support import ChainSession
from tests.node_support import NodeProcess, free_service_port, running_node
from tests.workflow_support import external_containers, workflow_servers

ZERO = "0x0000000000000000000000000000000000000000"


def chain_config(session: ChainSession, containers: list[dict[str, Any]], *,
                 key: str = NODE_KEY, payment_address: str | None = None,
                 trail_head_blocks: int = 0, supervisor: dict[str, Any] | None = None,
                 **chain: Any) -> dict[str, Any]:
    return {
        "supervisor": supervisor or {},
        "manage_containers": False,
        "log": {"path": None, "level": "debug"},
        "server": {"host": "127.0.0.1", "rate_limit": {"num_requests": 100000, "period": 1}},
        "chain": {
            "enabled": True,
            "rpc_url": session.anvil.rpc_url,
            "registry_address": session.deployment.registry,
            "trail_head_blocks": trail_head_blocks,
            "wallet": {"private_key": key, "payment_address": payment_address},
            "snapshot_sync": {"sleep": 0.05, "batch_size": 500, "sync_period": 0.1},
            **chain,
        },
        "containers": containers,
    }


@contextmanager
def chain_node(session: ChainSession, workdir: Path, modes: dict[str, str], *,
               port: int | None = None, **kw: Any) -> Iterator[NodeProcess]:
    with workflow_servers(modes) as servers:
        config = chain_config(session, external_containers(servers), **kw)
        with running_node(workdir, config, port or free_service_port(), timeout=60) as node:
            yield node


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def decoded_output(delivery: Any) -> tuple[bytes, bytes]:
    """(raw_output, processed_output) of a recorded delivery's ``output`` bytes."""
    raw, processed = abi_decode(["bytes", "bytes"], bytes(delivery[5]))
    return bytes(raw), bytes(processed)
