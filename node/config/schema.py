"""The config.json schema: the original node's keys and defaults, plus our additions.

Field names and defaults follow Infernet Node v1.4.0 so that existing files load
unchanged. Keys the original did not have are marked "ours" and always have a
default, so a file written for the original never needs them.
"""

from __future__ import annotations

import msgspec

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class _Frozen(msgspec.Struct, frozen=True, kw_only=True):
    pass


class RateLimit(_Frozen):
    num_requests: int = 60
    period: int = 60


class Server(_Frozen):
    port: int = 4000
    rate_limit: RateLimit = msgspec.field(default_factory=RateLimit)
    # ours
    host: str = "0.0.0.0"
    max_body_bytes: int = 1_048_576
    trusted_proxies: tuple[str, ...] = ()
    threads: int = 16
    graceful_timeout: float = 30.0


class Log(_Frozen):
    path: str | None = "infernet_node.log"
    max_file_size: int = 1_073_741_824
    backup_count: int = 2
    # ours
    level: str = "info"


class Redis(_Frozen):
    host: str = "redis"
    port: int = 6379
    # ours
    db: int = 0
    password: str | None = None


class Store(_Frozen):
    """Ours: where job records live."""

    backend: str = "sqlite"  # "sqlite" | "redis"
    data_dir: str = "data"
    finished_ttl: float = 7 * 24 * 3600.0
    running_ttl: float = 15 * 60.0


class DockerCredentials(_Frozen):
    username: str
    password: str
    # ours
    registry: str | None = None


class SnapshotSync(_Frozen):
    sleep: float = 1.0
    batch_size: int = 500
    starting_sub_id: int = 0
    sync_period: float = 0.5


class Wallet(_Frozen):
    max_gas_limit: int = 5_000_000
    private_key: str | None = None
    payment_address: str | None = None
    allowed_sim_errors: tuple[str, ...] = ()


class Chain(_Frozen):
    enabled: bool = False
    rpc_url: str | None = None
    trail_head_blocks: int = 1
    registry_address: str | None = None
    wallet: Wallet | None = None
    snapshot_sync: SnapshotSync = msgspec.field(default_factory=SnapshotSync)


class Container(_Frozen):
    id: str
    image: str = ""
    url: str = ""
    bearer: str = ""
    port: int = 3000
    external: bool = True
    gpu: bool = False
    accepted_payments: dict[str, int] = msgspec.field(default_factory=dict)
    allowed_ips: tuple[str, ...] = ()
    allowed_addresses: tuple[str, ...] = ()
    allowed_delegate_addresses: tuple[str, ...] = ()
    description: str = ""
    command: str = ""
    env: dict[str, str] = msgspec.field(default_factory=dict)
    generates_proofs: bool = False
    volumes: tuple[str, ...] = ()
    # ours
    concurrency: int = 4
    queue_size: int = 64
    timeout: float = 180.0
    publish_host: str = "127.0.0.1"
    container_port: int = 3000


class Stats(_Frozen):
    """Ours: where forwarded stats go (the original hard-coded fluent-bit)."""

    endpoint: str | None = None
    interval: float = 60.0
    batch_size: int = 10
    buffer_size: int = 1000


class Config(_Frozen):
    containers: tuple[Container, ...] = ()
    chain: Chain = msgspec.field(default_factory=Chain)
    docker: DockerCredentials | None = None
    forward_stats: bool = True
    log: Log = msgspec.field(default_factory=Log)
    manage_containers: bool = True
    redis: Redis = msgspec.field(default_factory=Redis)
    server: Server = msgspec.field(default_factory=Server)
    startup_wait: float = 5.0
    # ours
    store: Store = msgspec.field(default_factory=Store)
    stats: Stats = msgspec.field(default_factory=Stats)

    def container(self, container_id: str) -> Container | None:
        for c in self.containers:
            if c.id == container_id:
                return c
        return None
