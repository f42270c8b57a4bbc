from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from node.config.schema import Config, Redis, Store
from node.store.base import JobStore, StoreError
from node.store.factory import open_store
from node.store.redis_store import RedisJobStore
from tests import redis_support
from tests.redis_support import RedisServer, free_port
from tests.unit.store.store_contract import FINISHED_TTL, RUNNING_TTL, JobStoreContract, job

pytestmark = pytest.mark.redis
redis_server = redis_support.redis_server
redis_client = redis_support.redis_client


@pytest.fixture
def make_store(redis_client: redis.Redis) -> Iterator[Callable[..., JobStore]]:
    def make(**kwargs: object) -> JobStore:
        return RedisJobStore(redis_client, node_id="node-a", **kwargs)  # type: ignore[arg-type]

    yield make


class TestRedisJobStore(JobStoreContract):
    pass


def two_nodes(client: redis.Redis, **ttls: float) -> tuple[RedisJobStore, RedisJobStore]:
    ttls = {"finished_ttl": FINISHED_TTL, "running_ttl": RUNNING_TTL, **ttls}
    return (
        RedisJobStore(client, node_id="node-a", **ttls),
        RedisJobStore(client, node_id="node-b", **ttls),
    )


def test_nodes_share_results_but_recover_only_their_own(redis_client: redis.Redis):
    a, b = two_nodes(redis_client)
    now = time.time()
    a.put(job("from-a", at=now))
    b.put(job("from-b", at=now))
    a.put(job("done-a", status="success", at=now))
    assert [r.id for r in b.get_many("10.0.0.1", ["from-a", "done-a", "from-b"])] == [
        "done-a",
        "from-a",
        "from-b",
    ]
    assert sorted(b.list_ids("10.0.0.1", pending=True)) == ["from-a", "from-b"]
    assert [r.id for r in a.runnable_pending()] == ["from-a"]
    assert [r.id for r in b.runnable_pending()] == ["from-b"]
    assert (a.count_running(), b.count_running()) == (1, 1)


def test_record_overwritten_elsewhere_is_no_longer_recovered(redis_client: redis.Redis):
    a, b = two_nodes(redis_client)
    now = time.time()
    a.put(job("j", at=now))
    b.put(job("j", runnable=False, at=now + 1))  # PUT /api/status on node b
    assert a.runnable_pending() == []
    assert a.count_running() == 0 and b.count_running() == 1


def test_ipv6_client_keys_use_the_documented_layout(redis_client: redis.Redis):
    store, _ = two_nodes(redis_client)
    store.put(job("1234", client="fe80::1", status="success", at=time.time()))
    assert redis_client.exists("infernet:job:fe80::1:1234") == 1
    assert store.list_ids("fe80::1") == ["1234"]
    assert store.list_ids("fe80:") == []
    assert store.get("fe80:", ":1:1234") is None


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # polling a condition, bounded by the deadline
    return True


def test_redis_expires_finished_and_hand_written_records(redis_client: redis.Redis):
    store, _ = two_nodes(redis_client, finished_ttl=0.3, running_ttl=0.3)
    now = time.time()
    store.put_many(
        [
            job("f", status="success", at=now),
            job("m", runnable=False, at=now),
            job("r", at=now),
        ]
    )
    assert redis_client.pttl("infernet:job:10.0.0.1:f") > 0
    assert redis_client.pttl("infernet:job:10.0.0.1:r") == -1  # never expires
    assert wait_for(lambda: redis_client.exists("infernet:job:10.0.0.1:f") == 0, timeout=5)
    assert wait_for(lambda: redis_client.exists("infernet:job:10.0.0.1:m") == 0, timeout=5)
    assert [r.id for r in store.get_many("10.0.0.1", ["f", "m", "r"])] == ["r"]
    assert store.list_ids("10.0.0.1") == ["r"]
    assert redis_client.zrange("infernet:finished:10.0.0.1", 0, -1) == []
    assert store.count_running() == 1


def test_purge_cleans_indexes_of_records_redis_evicted(redis_client: redis.Redis):
    store, _ = two_nodes(redis_client)
    now = time.time()
    store.put(job("gone", status="success", at=now))
    store.put(job("kept", status="success", at=now))
    redis_client.delete("infernet:job:10.0.0.1:gone")  # as LRU eviction would
    assert [r.id for r in store.get_many("10.0.0.1", ["gone", "kept"])] == ["kept"]
    assert store.list_ids("10.0.0.1") == ["kept"]


def test_open_store_connects_to_the_configured_redis(redis_server: RedisServer):
    config = Config(
        store=Store(backend="redis"),
        redis=Redis(host=redis_server.host, port=redis_server.port, db=3),
    )
    store = open_store(config, node_id="n1")
    try:
        store.put(job("x", at=time.time()))
        assert redis_server.client(db=3).exists("infernet:job:10.0.0.1:x") == 1
    finally:
        store.close()


def test_open_store_names_an_unreachable_redis():
    port = free_port()
    config = Config(store=Store(backend="redis"), redis=Redis(host="127.0.0.1", port=port))
    with pytest.raises(StoreError, match=f"could not connect to Redis at 127.0.0.1:{port}"):
        open_store(config, node_id="n1")


def test_redis_failure_is_a_store_error(redis_server: RedisServer):
    client = redis.Redis(
        host=redis_server.host, port=free_port(), retry=Retry(NoBackoff(), retries=0)
    )
    store = RedisJobStore(client, node_id="n", finished_ttl=1.0, running_ttl=1.0)
    with pytest.raises(StoreError, match="could not store"):
        store.put(job("x", at=time.time()))
