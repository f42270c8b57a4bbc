"""The on-chain part of the actor tree, built only when ``chain.enabled``.

Children (in start order, placed around the router by ``actors.system``): the
wallet and the scheduler start before the router, because the router reports
resumed on-chain jobs to the scheduler as soon as it starts; the poller starts
after it, so the first due work finds the router ready.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from eth_account import Account

from actors.board import Board
from actors.chain_poller import SubscriptionPollerActor
from actors.chain_scheduler import (
    POLLER,
    SCHEDULER,
    WALLET,
    ChainSchedulerActor,
    wallet_keys_in_use,
)
from actors.delegation_gate import DelegationGate
from actors.directory import Directory
from actors.supervisor import ChildSpec
from actors.wallet import WalletActor
from node.chain.container_ids import ContainerIdResolver
from node.chain.contracts import Registry, RegistryAddresses
from node.chain.rpc import HttpRpc
from node.chain.rpc_types import RpcError
from node.config.schema import Config
from node.guardian import GuardianRules
from node.store.base import JobStore
from node.store.chain_db import ChainDb, chain_db_path
from node.store.chain_identity import ChainIdentity, open_chain_db
from node.store.claim_store import ClaimStore

log = logging.getLogger(__name__)



class ChainStartError(Exception):
    """The chain part cannot start (RPC unreachable, no Registry at the address...)."""


@dataclass
class ChainParts:
    rpc: HttpRpc
    db: ChainDb
    chain_id: int
    addresses: RegistryAddresses
    node_address: str
    gate: DelegationGate
    before_router: list[ChildSpec]
    after_router: list[ChildSpec]

    def close(self) -> None:
        self.db.close()
        self.rpc.close()


def build_chain(config: Config, *, directory: Directory, board: Board, rules: GuardianRules,
                jobs: JobStore) -> ChainParts:
    chain = config.chain
    wallet = chain.wallet
    if not chain.rpc_url or not chain.registry_address or wallet is None \
            or not wallet.private_key:
        raise ChainStartError("chain.enabled needs rpc_url, registry_address and "
                              "wallet.private_key")
    rpc = HttpRpc(chain.rpc_url)
    try:
        chain_id = rpc.chain_id()
        genesis = rpc.block(0).hash
        addresses = Registry(rpc, chain.registry_address).addresses()
    except RpcError as exc:
        rpc.close()
        raise ChainStartError(
            f"cannot read the Registry at {chain.registry_address} through chain.rpc_url "
            f"({exc.kind}: {exc.message})") from exc
    node_address = str(Account.from_key(wallet.private_key).address)
    # State kept for another chain (a dev chain started afresh, another network) is set aside.
    db, _ = open_chain_db(chain_db_path(config.store.data_dir), ChainIdentity(chain_id, genesis))
    claims = ClaimStore(db)
    resolver = ContainerIdResolver([c.id for c in config.containers])
    key = wallet.private_key
    snapshot = chain.snapshot_sync
    # Decided chain records go after the same retention as finished jobs.
    retention = config.store.finished_ttl

    before = [
        ChildSpec(WALLET, lambda ctx: WalletActor.start(
            ctx, rpc=rpc, private_key=key, db=db, max_gas_limit=wallet.max_gas_limit,
            allowed_sim_errors=tuple(wallet.allowed_sim_errors), retention=retention,
            keys_in_use=lambda keys: wallet_keys_in_use(claims, keys))),
        ChildSpec(SCHEDULER, lambda ctx: ChainSchedulerActor.start(
            ctx, rpc=rpc, coordinator=addresses.coordinator, reader=addresses.reader,
            wallet_factory=addresses.wallet_factory, node_address=node_address,
            payment_address=wallet.payment_address, rules=rules, resolver=resolver,
            claims=claims, jobs=jobs, board=board, retention=retention)),
    ]
    after = [
        ChildSpec(POLLER, lambda ctx: SubscriptionPollerActor.start(
            ctx, rpc=rpc, coordinator_address=addresses.coordinator,
            reader_address=addresses.reader, db=db, consumer=SCHEDULER,
            trail_head_blocks=chain.trail_head_blocks, batch_size=snapshot.batch_size,
            starting_sub_id=snapshot.starting_sub_id, batch_sleep=snapshot.sleep,
            sync_period=snapshot.sync_period, head_listener=WALLET)),
    ]
    gate = DelegationGate(rpc=rpc, coordinator=addresses.coordinator, chain_id=chain_id,
                          rules=rules, resolver=resolver, directory=directory)
    log.info("chain connected", extra={"chain_id": chain_id, "node_address": node_address,
                                       "coordinator": addresses.coordinator})
    return ChainParts(rpc=rpc, db=db, chain_id=chain_id, addresses=addresses,
                      node_address=node_address, gate=gate, before_router=before,
                      after_router=after)
