"""The runtime handles one app owns: database, Redis, cache, limiter, events, bus."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from ..core.events import EventBus
from ..core.observability import Metrics
from ..core.scopes import ScopeRegistry
from ..storage.cache import Cache
from ..storage.db import Database
from ..storage.outbox import Outbox, OutboxPolicy
from ..storage.redis_link import RedisLink
from .bus import (
    AuthorizationInterceptor,
    Bus,
    CacheInterceptor,
    DeadlineInterceptor,
    IdempotencyInterceptor,
    MetricsInterceptor,
    RateLimitInterceptor,
)
from .config import Settings
from .ratelimit import RateLimiter

S = TypeVar("S")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: RedisLink | None
    cache: Cache
    limiter: RateLimiter
    events: EventBus
    bus: Bus
    metrics: Metrics
    instance_id: str
    plugins: list[Any] = field(default_factory=list)  # LoadedPlugin, in load order
    graphql: Any = None
    pm: Any = None  # the pluggy PluginManager
    openapi: dict[str, Any] | None = None
    scopes: ScopeRegistry = field(default_factory=ScopeRegistry)  # declared by the plugins (and the kernel)
    outbox: Outbox | None = None
    # Each plugin's own state objects, one per (plugin, class): see state().
    plugin_states: dict[tuple[str, type], object] = field(default_factory=dict)

    def state(self, plugin: str, kind: type[S], make: Callable[[], S] | None = None) -> S:
        """Plugin ``plugin``'s instance of ``kind``, made on first use with ``make()`` (default ``kind()``).

        The typed replacement for attributes set on the runtime and module-level dicts
        keyed by ``id(runtime)``: it lives exactly as long as this runtime (one app).
        """
        key = (plugin, kind)
        found = self.plugin_states.get(key)
        if found is None:
            found = self.plugin_states[key] = (make or kind)()
            if not isinstance(found, kind):
                raise TypeError(f"plugin {plugin!r}: state for {kind.__name__} made a {type(found).__name__}")
        return cast(S, found)

    def made(self, plugin: str, kind: type[S]) -> S:
        """Plugin ``plugin``'s instance of ``kind``, which an earlier hook made (see :meth:`state`).

        LookupError when there is none: the plugin is not loaded, or asked before the hook that makes it.
        """
        found = self.plugin_states.get((plugin, kind))
        if found is None:
            raise LookupError(f"plugin {plugin!r} has made no {kind.__name__} in this app "
                              "(is it loaded, and has the hook that makes it run?)")
        return cast(S, found)


def build_runtime(settings: Settings) -> Runtime:
    if not settings.database_url:
        raise RuntimeError("no database_url: start embedded services first (kernel.storage.embedded) or set DATABASE_URL")
    instance_id = uuid.uuid4().hex[:12]
    db = Database(settings.database_url, max_size=settings.db_pool_max)
    redis = RedisLink(settings.redis_url, settings.redis_prefix) if settings.redis_url else None
    cache = Cache(redis, local_entries=settings.cache_local_entries, local_ttl=settings.cache_local_ttl,
                  max_tag_members=settings.cache_max_tag_members)
    limiter = RateLimiter(redis, settings.rate_classes(), settings.rate_limit_outage)
    events = EventBus(instance_id)
    metrics = Metrics()
    # Exported from the start, at 0; the children are resolved once, not per lookup.
    lookups = {result: metrics.cache.labels(result) for result in ("local_hit", "redis_hit", "miss", "fills")}
    cache.observe = lambda result: lookups[result].inc()
    if redis is not None:
        metrics.redis_up.set(1)  # until a call says otherwise
        redis.on_state = lambda up: metrics.redis_up.set(1 if up else 0)
    scopes = ScopeRegistry()  # filled by the plugins' declarations when the app is built
    bus = Bus(
        db=db,
        events=events,
        interceptors=[
            MetricsInterceptor(metrics.observe_bus),
            AuthorizationInterceptor(scopes),
            RateLimitInterceptor(limiter),
            IdempotencyInterceptor(db),
            CacheInterceptor(cache),
            # Innermost: a cache hit needs no timer; everything that can block below it
            # (the servicer, its queries and nested calls) runs under the deadline.
            DeadlineInterceptor(settings.deadline_seconds),
        ],
    )
    outbox = Outbox(db, events, metrics.registry, instance_id=instance_id,
                    policy=OutboxPolicy(max_attempts=settings.outbox_max_attempts,
                                        lease=float(settings.outbox_lease_seconds),
                                        handler_timeout=settings.outbox_lease_seconds / 2))
    bus.outbox = outbox
    events.outbox_enabled = True
    return Runtime(settings=settings, db=db, redis=redis, cache=cache, limiter=limiter, events=events,
                   bus=bus, metrics=metrics, instance_id=instance_id, outbox=outbox, scopes=scopes)
