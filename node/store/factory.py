"""Opens the job store the config asks for."""

from __future__ import annotations

import logging
import os

import redis

from node.config.schema import Config
from node.store.base import JobStore, StoreError
from node.store.redis_store import RedisJobStore
from node.store.sqlite_store import SqliteJobStore

log = logging.getLogger(__name__)

SQLITE_FILE = "jobs.sqlite3"


def open_store(config: Config, *, node_id: str) -> JobStore:
    """The configured store, ready to use; raises StoreError if it cannot be opened."""
    store = config.store
    if store.backend == "sqlite":
        return SqliteJobStore(
            os.path.join(store.data_dir, SQLITE_FILE),
            finished_ttl=store.finished_ttl,
            running_ttl=store.running_ttl,
        )
    if store.backend == "redis":
        return _open_redis(config, node_id=node_id)
    raise StoreError(f"store.backend: unknown backend {store.backend!r}; use 'sqlite' or 'redis'")


def _open_redis(config: Config, *, node_id: str) -> RedisJobStore:
    settings = config.redis
    client = redis.Redis(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        password=settings.password,
        socket_connect_timeout=5.0,
        health_check_interval=30,
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise StoreError(
            f"could not connect to Redis at {settings.host}:{settings.port}: {exc}"
        ) from exc
    log.info(
        "job store connected to Redis",
        extra={"host": settings.host, "port": settings.port, "db": settings.db},
    )
    return RedisJobStore(
        client,
        node_id=node_id,
        finished_ttl=config.store.finished_ttl,
        running_ttl=config.store.running_ttl,
    )
