"""The process's Redis connection: one client, a key prefix, and outage tracking.

When Redis fails, callers catch :class:`RedisDown` (or any redis error) and take
their fallback path; the link stops trying for a short back-off so that an outage
does not add a connect timeout to every request, then tries again by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("shop.kernel.redis")


class RedisDown(Exception):
    pass


class RedisLink:
    def __init__(self, url: str, prefix: str = "shop:") -> None:
        self.url = url
        self.prefix = prefix
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            health_check_interval=10,
            retry_on_timeout=False,
        )
        self._down_until = 0.0
        self._listener: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[bytes], Awaitable[None]]] = {}
        self.up = True
        # Called with True/False whenever the link's view of Redis changes (the shop_redis_up gauge).
        self.on_state: Callable[[bool], None] = lambda up: None
        # Keys live in one logical database, but pub/sub channels are server-wide:
        # the database number goes into the channel name so that two shops sharing a
        # server (same prefix, different databases) never hear each other.
        self.db_index = int(self.client.connection_pool.connection_kwargs.get("db", 0) or 0)

    def key(self, name: str) -> str:
        return self.prefix + name

    def channel(self, name: str) -> str:
        """A pub/sub channel's server-wide name: prefix, database, name."""
        return f"{self.prefix}db{self.db_index}:{name}"

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self, exc: BaseException) -> None:
        if self.up:
            log.warning("redis_down", extra={"error": str(exc)})
        self.up = False
        self.on_state(False)
        self._down_until = time.monotonic() + 1.0

    def mark_up(self) -> None:
        if not self.up:
            log.info("redis_recovered")
        self.up = True
        self.on_state(True)

    async def run(self, fn: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
        """Run ``fn(client)``; raise RedisDown (fast) while Redis is known down."""
        if not self.available:
            raise RedisDown("redis is down")
        try:
            result = await fn(self.client)
        except (TimeoutError, RedisError, OSError) as exc:
            self.mark_down(exc)
            raise RedisDown(str(exc)) from exc
        self.mark_up()
        return result

    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(self.client.ping(), 2)
            self.mark_up()
            return True
        except Exception as exc:
            self.mark_down(exc)
            return False

    # ------------------------------------------------------------------ pub/sub

    def subscribe(self, channel: str, handler: Callable[[bytes], Awaitable[None]]) -> None:
        self._handlers[self.channel(channel)] = handler

    async def publish(self, channel: str, payload: bytes) -> None:
        await self.run(lambda r: r.publish(self.channel(channel), payload))

    async def start_listener(self) -> None:
        if self._handlers and self._listener is None:
            ready = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(ready), name="redis-pubsub")
            try:
                await asyncio.wait_for(ready.wait(), 3)
            except TimeoutError:
                log.warning("redis_pubsub_not_ready")

    async def _listen(self, ready: asyncio.Event) -> None:
        """Keep a subscription alive across Redis outages (re-subscribes on return)."""
        backoff = 0.2
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._handlers)
                ready.set()
                backoff = 0.2
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None:
                        continue
                    handler = self._handlers.get(msg["channel"].decode())
                    if handler is not None:
                        await handler(msg["data"])
            except asyncio.CancelledError:
                await _quiet(pubsub.aclose())  # type: ignore[no-untyped-call]
                raise
            except Exception as exc:
                self.mark_down(exc)
                await _quiet(pubsub.aclose())  # type: ignore[no-untyped-call]
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except BaseException:
                pass
            self._listener = None
        await _quiet(self.client.aclose())


async def _quiet(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        pass
