"""Node registration through the NodeManager (v0 Manager interface), and a
Coordinator deployed with it that only accepts deliveries from active nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3.logs import DISCARD

from tests.chain_support import ANVIL_ADDRESSES, DEPLOYER_KEY, ChainSession, deployed_chain
from tests.contracts.helpers import (
    ZERO,
    as_tuple,
    delegated_subscription,
    deliver,
    deliver_error,
    request_callback,
    sign_delegation,
)

pytestmark = pytest.mark.chain

COOLDOWN = 3600
INACTIVE, REGISTERED, ACTIVE = 0, 1, 2


@pytest.fixture(scope="module")
def managed_session() -> Iterator[ChainSession]:
    with deployed_chain(node_manager=True) as session:
        yield session


@pytest.fixture
def managed(managed_session: ChainSession) -> Iterator[ChainSession]:
    with managed_session.isolated() as session:
        yield session


def _manager(chain: ChainSession):  # type: ignore[no-untyped-def]
    return chain.contract("NodeManager", chain.deployment.node_manager).functions


def _register_and_activate(chain: ChainSession, node: str) -> None:
    manager = _manager(chain)
    chain.transact(manager.registerNode(node), chain.consumer)
    chain.mine_at(chain.now() + COOLDOWN)
    chain.transact(manager.activateNode(), node)


def test_coordinator_without_manager_accepts_any_node(chain: ChainSession) -> None:
    assert chain.coordinator.functions.NODE_MANAGER().call() == ZERO
    deliver(chain, request_callback(chain), 1, ANVIL_ADDRESSES[7])


def test_registration_walks_through_cooldown_to_active(managed: ChainSession) -> None:
    manager = _manager(managed)
    node = managed.node
    assert managed.coordinator.functions.NODE_MANAGER().call() == managed.deployment.node_manager
    assert manager.cooldown().call() == COOLDOWN
    assert tuple(manager.nodeInfo(node).call()) == (INACTIVE, 0)
    assert managed.revert_of(manager.activateNode(), node) == "NodeNotActivateable"

    receipt = managed.transact(manager.registerNode(node), managed.consumer)
    registered_at = managed.now()
    nodes = managed.contract("NodeManager", managed.deployment.node_manager)
    events = nodes.events.NodeRegistered().process_receipt(receipt, errors=DISCARD)
    assert dict(events[0]["args"]) == {"node": node, "registerer": managed.consumer,
                                       "cooldownStart": registered_at}
    assert tuple(manager.nodeInfo(node).call()) == (REGISTERED, registered_at)
    assert managed.revert_of(manager.registerNode(node), managed.consumer) == "NodeNotRegisterable"

    managed.mine_at(registered_at + COOLDOWN - 100)
    assert managed.revert_of(manager.activateNode(), node) == "CooldownActive"
    managed.mine_at(registered_at + COOLDOWN)
    managed.transact(manager.activateNode(), node)
    assert tuple(manager.nodeInfo(node).call()) == (ACTIVE, 0)
    assert manager.isActiveNode(node).call()

    managed.transact(manager.deactivateNode(), node)
    assert tuple(manager.nodeInfo(node).call()) == (INACTIVE, 0)


def test_only_active_nodes_may_deliver(managed: ChainSession) -> None:
    node = managed.node
    sub_id = request_callback(managed)
    assert deliver_error(managed, sub_id, 1, node) == "NodeNotActive"

    manager = _manager(managed)
    managed.transact(manager.registerNode(node), managed.consumer)
    assert deliver_error(managed, sub_id, 1, node) == "NodeNotActive"  # still cooling down

    managed.mine_at(managed.now() + COOLDOWN)
    managed.transact(manager.activateNode(), node)
    deliver(managed, sub_id, 1, node)

    managed.transact(manager.deactivateNode(), node)
    assert deliver_error(managed, request_callback(managed), 1, node) == "NodeNotActive"


def test_delegated_deliveries_also_need_an_active_node(managed: ChainSession) -> None:
    sub = delegated_subscription(managed, active_at=managed.now())
    expiry = managed.now() + 3 * COOLDOWN
    signature = sign_delegation(managed, DEPLOYER_KEY, 1, expiry, sub)
    fn = managed.coordinator.functions.deliverComputeDelegatee(
        1, expiry, as_tuple(sub), *signature, 1, b"", b"out", b"", ZERO)
    assert managed.revert_of(fn, managed.node) == "NodeNotActive"
    _register_and_activate(managed, managed.node)
    managed.transact(fn, managed.node)
