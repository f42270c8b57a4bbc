"""A job store in Redis, so that several nodes can share job results.

Key layout (``p`` = prefix):

* ``p:job:{client}:{id}`` -> msgspec JSON of the record, with a TTL when it expires.
  ``%`` and ``:`` in the id are percent-escaped so that a client key containing
  ``:`` (IPv6) can never make two (client, id) pairs share a key; UUID ids are
  unchanged. Keys are never parsed back: ids come from the indexes below.
* ``p:running:{client}``, ``p:finished:{client}`` -> sorted sets of ids, scored by
  the record's expiry time (``+inf`` for runnable running records), so that
  expired entries are one ZREMRANGEBYSCORE away.
* ``p:node:{node_id}:runnable`` -> sorted set of ``["client", "id"]`` scored by
  creation time: the pending jobs this node re-runs after a restart.
* ``p:node:{node_id}:manual`` -> the same for running records written by hand,
  scored by expiry (only counted).
* ``p:clients`` -> set of client keys with indexed records (for purging).

Each put is one MULTI/EXEC transaction. Cleanups that must check a record and
its index together run as Lua scripts, which Redis executes atomically; they
touch record keys not passed in KEYS, so the layout assumes a single Redis
server (not Redis Cluster).

How durable a put is depends on the server's persistence settings (AOF with
``appendfsync everysec`` or ``always`` for the "never lost" promise).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import msgspec
import redis

from node.messages import JobRecord
from node.store.codec import (
    decode_record,
    encode_record,
    expires_at,
    is_finished,
    is_recoverable,
    store_errors,
)

log = logging.getLogger(__name__)

_LUA_RECORD_KEY = """
local function record_key(prefix, id)
  local escaped = string.gsub(string.gsub(id, '%%', '%%25'), ':', '%%3A')
  return prefix .. escaped
end
"""

# KEYS: running index, finished index, clients set.
# ARGV: record key prefix of the client, now, client, then ids to drop from the
# indexes if their record is gone (evicted or expired by Redis).
# Drops expired index entries together with their records; returns how many.
_TIDY_CLIENT = (
    _LUA_RECORD_KEY
    + """
local dropped = 0
for i = 1, 2 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[2])
  for _, id in ipairs(ids) do
    redis.call('DEL', record_key(ARGV[1], id))
    redis.call('ZREM', KEYS[i], id)
  end
  dropped = dropped + #ids
end
for j = 4, #ARGV do
  if redis.call('EXISTS', record_key(ARGV[1], ARGV[j])) == 0 then
    dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[j]) + redis.call('ZREM', KEYS[2], ARGV[j])
  end
end
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
end
return dropped
"""
)

_member_encoder = msgspec.json.Encoder()
_member_decoder = msgspec.json.Decoder(tuple[str, str])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _escape_id(job_id: str) -> str:
    return job_id.replace("%", "%25").replace(":", "%3A")


class RedisJobStore:
    """JobStore on Redis; redis.Redis is thread-safe (connection pool), so is this."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        node_id: str,
        finished_ttl: float,
        running_ttl: float,
        prefix: str = "infernet",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._node_id = node_id
        self._finished_ttl = finished_ttl
        self._running_ttl = running_ttl
        self._prefix = prefix
        self._clock = clock
        self._runnable_key = f"{prefix}:node:{node_id}:runnable"
        self._manual_key = f"{prefix}:node:{node_id}:manual"
        self._clients_key = f"{prefix}:clients"
        self._tidy = client.register_script(_TIDY_CLIENT)

    # --- keys ------------------------------------------------------------------

    def _record_prefix(self, client: str) -> str:
        return f"{self._prefix}:job:{client}:"

    def _record_key(self, client: str, job_id: str) -> str:
        return self._record_prefix(client) + _escape_id(job_id)

    def _running_key(self, client: str) -> str:
        return f"{self._prefix}:running:{client}"

    def _finished_key(self, client: str) -> str:
        return f"{self._prefix}:finished:{client}"

    def _errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        return store_errors(f"{action} in Redis", (redis.RedisError,))

    # --- writes ----------------------------------------------------------------

    def _queue_put(self, pipe: Any, record: JobRecord, now: float) -> None:
        key = self._record_key(record.client, record.id)
        member = _member_encoder.encode((record.client, record.id))
        deadline = expires_at(
            record, finished_ttl=self._finished_ttl, running_ttl=self._running_ttl
        )
        if deadline is None:
            pipe.set(key, encode_record(record))  # SET without PX also drops an old TTL
        elif (ttl_ms := math.ceil((deadline - now) * 1000)) > 0:
            pipe.set(key, encode_record(record), px=ttl_ms)
        else:
            pipe.delete(key)
        score = math.inf if deadline is None else deadline
        running, finished = self._running_key(record.client), self._finished_key(record.client)
        if is_finished(record):
            pipe.zadd(finished, {record.id: score})
            pipe.zrem(running, record.id)
            pipe.zrem(self._runnable_key, member)
            pipe.zrem(self._manual_key, member)
        elif is_recoverable(record):
            pipe.zadd(running, {record.id: score})
            pipe.zrem(finished, record.id)
            pipe.zadd(self._runnable_key, {member: record.created_at})
            pipe.zrem(self._manual_key, member)
        else:
            pipe.zadd(running, {record.id: score})
            pipe.zrem(finished, record.id)
            pipe.zadd(self._manual_key, {member: score})
            pipe.zrem(self._runnable_key, member)
        pipe.sadd(self._clients_key, record.client)

    def put(self, record: JobRecord) -> None:
        self.put_many((record,))

    def put_many(self, records: Sequence[JobRecord]) -> None:
        if not records:
            return
        now = self._clock()
        with self._errors(f"could not store {len(records)} job(s)"):
            pipe = self._redis.pipeline(transaction=True)
            for record in records:
                self._queue_put(pipe, record, now)
            pipe.execute()

    def _tidy_client(self, client: str, now: float, missing: Sequence[str] = ()) -> int:
        keys = [self._running_key(client), self._finished_key(client), self._clients_key]
        args = [self._record_prefix(client), repr(now), client, *missing]
        return int(self._tidy(keys=keys, args=args))

    # --- reads -----------------------------------------------------------------

    def _live(self, blob: bytes | str | None, now: float) -> JobRecord | None:
        if blob is None:
            return None
        record = decode_record(blob)
        deadline = expires_at(
            record, finished_ttl=self._finished_ttl, running_ttl=self._running_ttl
        )
        return None if deadline is not None and deadline <= now else record

    def get(self, client: str, job_id: str) -> JobRecord | None:
        found = self.get_many(client, (job_id,))
        return found[0] if found else None

    def get_many(self, client: str, ids: Sequence[str]) -> list[JobRecord]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        now = self._clock()
        with self._errors(f"could not read {len(wanted)} job(s) of {client!r}"):
            blobs = self._redis.mget([self._record_key(client, i) for i in wanted])
            records = [self._live(blob, now) for blob in blobs]
            gone = [job_id for job_id, r in zip(wanted, records, strict=True) if r is None]
            if gone:
                self._tidy_client(client, now, gone)
        live = [r for r in records if r is not None]
        return [r for r in live if is_finished(r)] + [r for r in live if not is_finished(r)]

    def list_ids(self, client: str, pending: bool | None = None) -> list[str]:
        now = self._clock()
        indexes = {
            True: [self._running_key(client)],
            False: [self._finished_key(client)],
            None: [self._running_key(client), self._finished_key(client)],
        }[pending]
        with self._errors(f"could not list jobs of {client!r}"):
            self._tidy_client(client, now)
            pipe = self._redis.pipeline(transaction=False)
            for index in indexes:
                pipe.zrangebyscore(index, f"({now!r}", "+inf")
            return [_text(job_id) for ids in pipe.execute() for job_id in ids]

    def runnable_pending(self) -> list[JobRecord]:
        with self._errors("could not read pending jobs"):
            members = cast("list[bytes]", self._redis.zrange(self._runnable_key, 0, -1))
            if not members:
                return []
            owners = [_member_decoder.decode(m) for m in members]
            blobs = self._redis.mget([self._record_key(c, i) for c, i in owners])
            pending: list[JobRecord] = []
            stale: list[bytes] = []
            for member, blob in zip(members, blobs, strict=True):
                record = None if blob is None else decode_record(blob)
                if record is not None and is_recoverable(record):
                    pending.append(record)
                else:
                    # Finished, or overwritten by hand (possibly by another node).
                    stale.append(member)
            if stale:
                self._redis.zrem(self._runnable_key, *stale)
                log.info("stale pending entries dropped", extra={"count": len(stale)})
            return pending

    def count_running(self) -> int:
        with self._errors("could not count running jobs"):
            pipe = self._redis.pipeline(transaction=False)
            pipe.zcard(self._runnable_key)
            pipe.zcount(self._manual_key, f"({self._clock()!r}", "+inf")
            runnable, manual = pipe.execute()
            return int(runnable) + int(manual)

    def purge_expired(self, now: float) -> int:
        dropped = 0
        with self._errors("could not purge expired jobs"):
            self._redis.zremrangebyscore(self._manual_key, "-inf", repr(now))
            for client in self._redis.sscan_iter(self._clients_key):
                dropped += self._tidy_client(_text(client), now)
        if dropped:
            log.info("expired jobs purged", extra={"count": dropped, "node_id": self._node_id})
        return dropped

    def close(self) -> None:
        with self._errors("could not close the Redis connection"):
            self._redis.close()
