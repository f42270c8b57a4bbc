"""The config.json schema: the original node's keys and defaults, plus our additions.

Field names and defaults follow Infernet Node v1.4.0 so that existing files load
unchanged. Keys the original did not have are marked "ours" and always have a
default, so a file written for the original never needs them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Range constraints live in the types so that the loader reports them per field.
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
LogLevel = Literal["debug", "info", "warning", "error"]
StoreBackend = Literal["sqlite", "redis"]


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    num_requests: PositiveInt = 60
    period: PositiveInt = 60


class Server(msgspec.Struct, frozen=True, kw_only=True):
    port: Port = 4000
    rate_limit: RateLimit = msgspec.field(default_factory=RateLimit)
    # ours
    host: str = "0.0.0.0"
    max_body_bytes: PositiveInt = 1_048_576
    trusted_proxies: tuple[str, ...] = ()
    threads: PositiveInt = 16
    graceful_timeout: NonNegativeFloat = 30.0


class Log(msgspec.Struct, frozen=True, kw_only=True):
    path: str | None = "infernet_node.log"
    max_file_size: PositiveInt = 1_073_741_824
    backup_count: NonNegativeInt = 2
    # ours
    level: LogLevel = "info"


class Redis(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "redis"
    port: Port = 6379
    # ours
    db: NonNegativeInt = 0
    password: str | None = None


class Store(msgspec.Struct, frozen=True, kw_only=True):
    """Ours: where job records live."""

    backend: StoreBackend = "sqlite"
    data_dir: str = "data"
    finished_ttl: PositiveFloat = 7 * 24 * 3600.0
    running_ttl: PositiveFloat = 15 * 60.0


class DockerCredentials(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    password: str
    # ours
    registry: str | None = None


class SnapshotSync(msgspec.Struct, frozen=True, kw_only=True):
    sleep: NonNegativeFloat = 1.0
    batch_size: PositiveInt = 500
    starting_sub_id: NonNegativeInt = 0
    sync_period: NonNegativeFloat = 0.5


class Wallet(msgspec.Struct, frozen=True, kw_only=True):
    max_gas_limit: PositiveInt = 5_000_000
    private_key: str | None = None
    payment_address: str | None = None
    allowed_sim_errors: tuple[str, ...] = ()


class Chain(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = False
    rpc_url: str | None = None
    trail_head_blocks: NonNegativeInt = 1
    registry_address: str | None = None
    wallet: Wallet | None = None
    # ours: the v0-style NodeManager for register-node / activate-node (optional; the
    # commands also ask the Coordinator for it)
    node_manager_address: str | None = None
    snapshot_sync: SnapshotSync = msgspec.field(default_factory=SnapshotSync)


class Container(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    image: str = ""
    url: str = ""
    bearer: str = ""
    port: Port = 3000
    external: bool = True
    gpu: bool = False
    accepted_payments: dict[str, NonNegativeInt] = msgspec.field(default_factory=dict)
    allowed_ips: tuple[str, ...] = ()
    allowed_addresses: tuple[str, ...] = ()
    allowed_delegate_addresses: tuple[str, ...] = ()
    description: str = ""
    command: str = ""
    env: dict[str, str] = msgspec.field(default_factory=dict)
    generates_proofs: bool = False
    volumes: tuple[str, ...] = ()
    # ours
    concurrency: PositiveInt = 4
    queue_size: PositiveInt = 64
    timeout: PositiveFloat = 180.0
    # Unset: 127.0.0.1, or the Docker gateway when the node itself runs in Docker
    # (RUNTIME=docker), so that it can reach the port (node.containers.addressing).
    publish_host: str | None = None
    container_port: Port = 3000


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    """Ours: where forwarded stats go (the original hard-coded fluent-bit)."""

    endpoint: str | None = None
    interval: PositiveFloat = 60.0
    batch_size: PositiveInt = 10
    buffer_size: PositiveInt = 1000


class SupervisorSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Ours: how hard the supervisor tries before the node exits (status 4) so that its
    process manager restarts it whole."""

    max_restarts: PositiveInt = 5
    within: PositiveFloat = 60.0


class Config(msgspec.Struct, frozen=True, kw_only=True):
    containers: tuple[Container, ...] = ()
    chain: Chain = msgspec.field(default_factory=Chain)
    docker: DockerCredentials | None = None
    forward_stats: bool = True
    log: Log = msgspec.field(default_factory=Log)
    manage_containers: bool = True
    redis: Redis = msgspec.field(default_factory=Redis)
    server: Server = msgspec.field(default_factory=Server)
    startup_wait: NonNegativeFloat = 5.0
    # ours
    store: Store = msgspec.field(default_factory=Store)
    stats: Stats = msgspec.field(default_factory=Stats)
    supervisor: SupervisorSettings = msgspec.field(default_factory=SupervisorSettings)

    def container(self, container_id: str) -> Container | None:
        for c in self.containers:
            if c.id == container_id:
                return c
        return None
