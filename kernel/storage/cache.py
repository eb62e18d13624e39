"""Two-level cache-aside: a small in-process LRU in front of Redis.

- Entries are the final encoded bytes, so a hit does no serialisation.
- Every entry belongs to tags (its own key is always one). Invalidation deletes
  the members of each tag's Redis set in one Lua call (no KEYS/SCAN), drops the
  local entries, and tells the other instances over pub/sub to drop theirs.
- A cold key is filled once: concurrent misses in this process share one fill
  (single flight), and across processes a short Redis lock lets one instance fill
  while the others wait briefly for its result.
- While Redis is down the cache serves only its local entries and fills from the
  source; it never fails a read because of Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from .redis_link import RedisDown, RedisLink

log = logging.getLogger("shop.kernel.cache")

# Each tag has a version counter, bumped by every invalidation. A miss reads the
# versions with the value; the fill is stored only if they have not moved since,
# so a slow read that began before a write cannot put the old value back.
_GET = """
local out = {redis.call('GET', KEYS[1])}
for i = 2, #KEYS do out[i] = redis.call('GET', KEYS[i]) or '0' end
return out
"""

_INVALIDATE = """
local n = #KEYS / 2
for i = 1, n do
  local members = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #members, 500 do
    redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[n + i])
  redis.call('EXPIRE', KEYS[n + i], 86400)
end
return 1
"""

_STORE = """
local n = (#KEYS - 1) / 2
for i = 1, n do
  if (redis.call('GET', KEYS[1 + n + i]) or '0') ~= ARGV[2 + i] then return 0 end
end
-- A full tag set takes no new key: distinct requests (filters, prices, pages) must not grow Redis
-- without bound; the entry is served and kept locally only, until an invalidation empties the set.
local cap = tonumber(ARGV[3 + n])
for i = 3, n + 1 do
  if redis.call('SCARD', KEYS[i]) >= cap and redis.call('SISMEMBER', KEYS[i], KEYS[1]) == 0 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 2, n + 1 do
  redis.call('SADD', KEYS[i], KEYS[1])
  local ttl = redis.call('TTL', KEYS[i])
  if ttl < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
end
return 1
"""

CHANNEL = "cache-invalidate"


class LocalCache:
    """Bounded LRU with per-entry expiry and a tag index."""

    def __init__(self, max_entries: int, ttl: float) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        # Values are encoded bytes, or (GraphQL) a tuple of the bytes and what admits a caller.
        self._data: OrderedDict[str, tuple[float, Any, tuple[str, ...]]] = OrderedDict()
        self._tags: dict[str, set[str]] = {}
        self.generation = 0  # bumped on every invalidation; fills started before are not kept

    def get(self, key: str) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._drop(key)
            return None
        self._data.move_to_end(key)
        return entry[1]

    def put(self, key: str, value: Any, tags: tuple[str, ...], ttl: float) -> None:
        if self.max_entries <= 0:
            return
        self._drop(key)
        self._data[key] = (time.monotonic() + min(ttl, self.ttl), value, tags)
        for tag in tags:
            self._tags.setdefault(tag, set()).add(key)
        while len(self._data) > self.max_entries:
            oldest = next(iter(self._data))
            self._drop(oldest)

    def _drop(self, key: str) -> None:
        entry = self._data.pop(key, None)
        if entry is None:
            return
        for tag in entry[2]:
            keys = self._tags.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tags[tag]

    def invalidate(self, tags: Iterable[str]) -> None:
        self.generation += 1
        for tag in tags:
            for key in list(self._tags.get(tag, ())):
                self._drop(key)

    def clear(self) -> None:
        self.generation += 1
        self._data.clear()
        self._tags.clear()

    def __len__(self) -> int:
        return len(self._data)


class Cache:
    def __init__(self, redis: RedisLink | None, *, local_entries: int = 2048, local_ttl: float = 30.0,
                 lock_ms: int = 2000, max_tag_members: int = 20_000) -> None:
        self.redis = redis
        # Keys one tag may hold in Redis (members of expired entries count until the tag is invalidated).
        self.max_tag_members = max_tag_members
        self.local = LocalCache(local_entries, local_ttl)
        self.lock_ms = lock_ms
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self.stats = {"local_hit": 0, "redis_hit": 0, "miss": 0, "fills": 0}
        self.observe: Callable[[str], None] = lambda result: None  # the shop_cache_lookups_total counter
        if redis is not None:
            self._get = redis.client.register_script(_GET)
            self._invalidate = redis.client.register_script(_INVALIDATE)
            self._store = redis.client.register_script(_STORE)
            redis.subscribe(CHANNEL, self._on_remote_invalidate)

    def note_local_hit(self) -> None:
        """Count a hit served from a local entry kept outside get_or_fill (kernel.web.shortpath)."""
        self._count("local_hit")

    def _count(self, result: str) -> None:
        self.stats[result] += 1
        self.observe(result)

    async def _on_remote_invalidate(self, payload: bytes) -> None:
        try:
            tags = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if isinstance(tags, list):
            self.local.invalidate(str(t) for t in tags)

    async def get_or_fill(self, key: str, tags: tuple[str, ...], ttl: int,
                          fill: Callable[[], Awaitable[bytes]]) -> tuple[bytes, str]:
        """The cached bytes for ``key``, filling from ``fill()`` on a miss.

        Returns (bytes, "local" | "redis" | "miss").
        """
        hit = self.local.get(key)
        if hit is not None:
            self._count("local_hit")
            return hit, "local"
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), "local"
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            value, status = await self._from_redis_or_fill(key, tags, ttl, fill)
            fut.set_result(value)
            return value, status
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    async def _from_redis_or_fill(self, key: str, tags: tuple[str, ...], ttl: int,
                                  fill: Callable[[], Awaitable[bytes]]) -> tuple[bytes, str]:
        generation = self.local.generation
        all_tags = (key, *tags)
        if self.redis is None:
            value = await fill()
            self._keep_local(key, value, all_tags, ttl, generation)
            return value, "miss"
        redis = self.redis
        rkey = redis.key("c:" + key)
        version_keys = [redis.key("v:" + t) for t in all_tags]
        try:
            got = await redis.run(lambda r: self._get(keys=[rkey, *version_keys], args=[], client=r))
        except RedisDown:
            got, redis_ok = None, False
        else:
            redis_ok = True
        if got is not None and got[0] is not None:
            self._count("redis_hit")
            self._keep_local(key, got[0], all_tags, ttl, generation)
            return got[0], "redis"
        versions = [v.decode() if isinstance(v, bytes) else str(v) for v in (got or [None])[1:]]
        self._count("miss")
        if redis_ok:
            filled = await self._fill_with_lock(rkey, fill)
            if filled is not None:
                self._keep_local(key, filled, all_tags, ttl, generation)
                return filled, "redis"
        value = await fill()
        self._count("fills")
        if redis_ok:
            await self._store_redis(rkey, value, all_tags, ttl, versions)
        self._keep_local(key, value, all_tags, ttl, generation)
        return value, "miss"

    async def _fill_with_lock(self, rkey: str, fill: Callable[[], Awaitable[bytes]]) -> bytes | None:
        """Across instances: wait for whoever holds the fill lock; None means fill yourself."""
        assert self.redis is not None
        lock = rkey + ":lock"
        try:
            got = await self.redis.run(lambda r: r.set(lock, b"1", nx=True, px=self.lock_ms))
        except RedisDown:
            return None
        if got:
            return None  # we hold the lock: caller fills (lock expires by itself)
        deadline = time.monotonic() + self.lock_ms / 1000
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            try:
                value = await self.redis.run(lambda r: r.get(rkey))
            except RedisDown:
                return None
            if value is not None:
                self._count("redis_hit")
                return bytes(value)
            try:
                # The filler let go without storing (its tag was full): stop waiting, fill here.
                if not await self.redis.run(lambda r: r.exists(lock)):
                    return None
            except RedisDown:
                return None
        return None

    async def _store_redis(self, rkey: str, value: bytes, tags: tuple[str, ...], ttl: int,
                           versions: list[str]) -> None:
        assert self.redis is not None
        redis = self.redis
        keys = [rkey] + [redis.key("t:" + t) for t in tags] + [redis.key("v:" + t) for t in tags]
        try:
            await redis.run(lambda r: self._store(keys=keys, args=[value, ttl, *versions, self.max_tag_members], client=r))
            await redis.run(lambda r: r.delete(rkey + ":lock"))
        except RedisDown:
            pass

    def _keep_local(self, key: str, value: bytes, tags: tuple[str, ...], ttl: int, generation: int) -> None:
        if generation == self.local.generation:
            self.local.put(key, value, tags, ttl)

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Drop every entry under these tags, here, in Redis, and on other instances."""
        tag_list = sorted(set(tags))
        if not tag_list:
            return
        self.local.invalidate(tag_list)
        if self.redis is None:
            return
        redis = self.redis
        keys = [redis.key("t:" + t) for t in tag_list] + [redis.key("v:" + t) for t in tag_list]
        try:
            await redis.run(lambda r: self._invalidate(keys=keys, args=[], client=r))
            await redis.publish(CHANNEL, orjson.dumps(tag_list))
        except RedisDown:
            # Other instances keep local entries at most local_ttl seconds.
            log.warning("cache_invalidate_redis_down", extra={"tags": tag_list})

    def snapshot(self) -> dict[str, Any]:
        return {"local_entries": len(self.local), **self.stats}
