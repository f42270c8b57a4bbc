"""Builds the node's actor tree from a config and runs it: start, drain, stop.

Start order (each behind a readiness barrier): one executor per container, the
Docker watcher, then the router — the router re-sends recovered jobs as soon
as it starts, so the executors must already be there. Stop is the reverse.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import pykka

from actors.base import ChildContext
from actors.board import Board
from actors.directory import ActorUnavailable, Directory
from actors.executor import ExecutorActor
from actors.facade import NodeFacade
from actors.lane import Lane
from actors.restart_policy import RestartPolicy
from actors.router import ROUTER, RouterActor, executor_name
from actors.supervisor import ChildSpec, StartChildren, StopChildren, Supervisor
from actors.watcher import WatcherActor
from node.config.schema import Config, Container
from node.containers.addressing import container_base_url, publish_host
from node.containers.client import ContainerClient, ContainerEndpoint
from node.guardian import GuardianRules
from node.messages import ContainerResult, StartDraining, StepDone, StepRequest
from node.store.base import JobStore
from node.store.factory import open_store

log = logging.getLogger(__name__)


def node_id_for(config: Config) -> str:
    """A stable name for this node on this host (Docker labels, shared-store keys)."""
    seed = f"{socket.gethostname()}:{config.server.port}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


class NodeSystem:
    def __init__(
        self,
        config: Config,
        *,
        env: Mapping[str, str] | None = None,
        docker_factory: Callable[[], Any] | None = None,
        store: JobStore | None = None,
        on_escalate: Callable[[str], None] | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.config = config
        self.env = dict(os.environ if env is None else env)
        self.node_id = node_id_for(config)
        self.board = Board()
        self.directory = Directory()
        self._docker_factory = docker_factory
        self._store = store
        self._on_escalate = on_escalate
        self._policy = policy or RestartPolicy(max_restarts=config.supervisor.max_restarts,
                                               within=config.supervisor.within)
        self._supervisor: pykka.ActorRef[Any] | None = None
        self._stopped = threading.Event()
        self.manager: Any | None = None
        # Resolve what depends on where the node runs, once, before anything uses it.
        self.config = config = msgspec.structs.replace(config, containers=tuple(
            msgspec.structs.replace(c, publish_host=publish_host(c, self.env))
            for c in config.containers))
        self.client = ContainerClient(max_connections_per_endpoint=32)
        self.endpoints = {c.id: self._endpoint(c) for c in config.containers}
        self.facade: NodeFacade | None = None
        self.chain: Any | None = None  # ChainParts when chain.enabled
        self.lanes: dict[str, Lane] = {}

    def _endpoint(self, c: Container) -> ContainerEndpoint:
        return ContainerEndpoint(container=c.id, base_url=container_base_url(c, self.env),
                                 bearer=c.bearer or None, timeout=c.timeout)

    # --- start ---------------------------------------------------------------

    def start(self) -> NodeFacade:
        config = self.config
        store = self._store or open_store(config, node_id=self.node_id)
        self._store = store
        if config.manage_containers and config.containers:
            from node.containers.docker_manager import DockerManager, docker_client_from_env

            docker = (self._docker_factory or docker_client_from_env)()
            self.manager = DockerManager(docker, credentials=config.docker, node_id=self.node_id)
        containers = {c.id: c for c in config.containers}
        rules = GuardianRules.from_config(config)
        board = self.board

        lanes = self.lanes = {c.id: self._lane(c) for c in config.containers}
        specs: list[ChildSpec] = []
        for c in config.containers:
            specs.append(ChildSpec(executor_name(c.id), self._executor_factory(c)))
        if self.manager is not None:
            manager = self.manager
            names = frozenset(containers)
            specs.append(ChildSpec("watcher", lambda ctx: WatcherActor.start(
                ctx, manager=manager, names=names)))
        # --- stats reporter (issue 5 point 1) -----------------------------------
        from actors.stats import STATS, chain_probes, stats_child_spec

        probes = chain_probes() if config.chain.enabled else ()
        specs.append(stats_child_spec(board, config, node_id=self.node_id, probes=probes))
        # --- end stats reporter ---------------------------------------------------
        chain = None
        if config.chain.enabled:
            from actors.chain_system import build_chain

            chain = self.chain = build_chain(config, directory=self.directory, board=board,
                                             rules=rules, jobs=store)
            specs.extend(chain.before_router)
        specs.append(ChildSpec(ROUTER, lambda ctx: RouterActor.start(
            ctx, store=store, rules=rules, containers=containers, lanes=lanes, board=board)))
        if chain is not None:
            specs.extend(chain.after_router)

        self._supervisor = Supervisor.start(
            specs, self.directory, policy=self._policy, on_escalate=self._escalate,
            # The router re-sends steps to a restarted executor; the poller replays what it
            # knows to a restarted scheduler.
            notify=(ROUTER, STATS, "chain-poller") if chain is not None else (ROUTER, STATS))
        self._supervisor.ask(StartChildren(), timeout=60)
        self.facade = NodeFacade(
            config=config, directory=self.directory, store=store, board=board,
            client=self.client, endpoints=self.endpoints, manager=self.manager,
            alive=lambda: self._supervisor is not None and self._supervisor.is_alive(),
            node_address=chain.node_address if chain is not None else "",
            delegation=chain.gate if chain is not None else None,
        )
        log.info("node started", extra={"node_id": self.node_id,
                                        "containers": [c.id for c in config.containers]})
        return self.facade

    def _executor_factory(self, c: Container) -> Callable[[ChildContext], pykka.ActorRef[Any]]:
        def start(ctx: ChildContext) -> pykka.ActorRef[Any]:
            return ExecutorActor.start(ctx, spec=c, lane=self.lanes[c.id], board=self.board,
                                       manager=self.manager)
        return start

    def _lane(self, c: Container) -> Lane:
        client, directory = self.client, self.directory

        def reply(step: StepRequest, result: ContainerResult, elapsed: float) -> None:
            try:
                directory.tell(ROUTER, StepDone(job_id=step.job_id, step=step.step,
                                                result=result, elapsed=elapsed))
            except ActorUnavailable:
                # The router re-reads its pending jobs when it restarts; nothing is lost.
                log.warning("router unavailable; step result dropped",
                            extra={"job_id": step.job_id, "step": step.step})

        return Lane(self.endpoints[c.id], c.concurrency, client.call, reply)

    def crash_actor(self, name: str) -> bool:
        """Fault injection for resilience tests: the named actor fails as on a bug."""
        from actors.base import InjectedFault

        try:
            self.directory.tell(name, InjectedFault())
        except ActorUnavailable:
            return False
        return True

    def _escalate(self, reason: str) -> None:
        self.board.escalated = reason
        if self._on_escalate is not None:
            self._on_escalate(reason)

    # --- stop ------------------------------------------------------------------

    def drain(self, grace: float) -> int:
        """Stop admitting jobs and wait up to ``grace`` seconds for those in flight."""
        try:
            self.directory.tell(ROUTER, StartDraining())
        except Exception:
            return self.board.jobs_running
        deadline = time.monotonic() + grace
        while self.board.jobs_running and time.monotonic() < deadline:
            self._stopped.wait(0.05)
        if self.board.jobs_running:
            log.warning("jobs still running at shutdown; they resume on the next start",
                        extra={"count": self.board.jobs_running})
        return self.board.jobs_running

    def stop(self) -> None:
        if self._supervisor is not None and self._supervisor.is_alive():
            try:
                self._supervisor.ask(StopChildren(), timeout=120)
            finally:
                self._supervisor.stop(timeout=10)
        self.client.close()
        if self.chain is not None:
            self.chain.close()
        if self._store is not None:
            self._store.close()
        self._stopped.set()
        log.info("node stopped", extra={"node_id": self.node_id})
