"""Typed events: published by servicers inside their transaction, delivered after it commits.

Two kinds of subscribers:

- durable (the default): the event is written to the transactional outbox
  (kernel/storage/outbox.py) in the publisher's transaction, one task per subscriber,
  and a worker in any process runs the handler at least once, in order per
  aggregate, retrying with backoff. Handlers are told the event id
  (:func:`current_delivery`) so they can be idempotent.
- ``broadcast=True``: best effort, right after commit, in this process and, over
  Redis pub/sub, in every other instance (cache invalidation and the like).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from .messages import decode, encode

log = logging.getLogger("shop.kernel.events")


class Event:
    """Base of event messages. Subclasses are messages with a ``topic``.

    ``aggregate`` names the field whose value orders delivery: events of one
    aggregate (one order, one product) reach each handler in publication order.
    Without it every event is its own aggregate (no ordering between them).
    """

    topic: ClassVar[str] = ""
    aggregate_field: ClassVar[str] = ""

    def __init_subclass__(cls, *, topic: str = "", aggregate: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if topic:
            cls.topic = topic
        if aggregate:
            cls.aggregate_field = aggregate

    def aggregate_key(self) -> str | None:
        if not self.aggregate_field:
            return None
        return f"{self.topic.split('.')[0]}:{getattr(self, self.aggregate_field)}"


Handler = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    event_type: type[Event]
    handler: Handler
    # Best effort, after commit, on every instance (over Redis); not through the outbox.
    broadcast: bool = False
    plugin: str = ""
    # Durable subscribers: a stable name, unique per topic (default: plugin:qualified name).
    name: str = ""
    # Run the handler and the "processed" mark in one database transaction: a handler whose
    # effects are all in the database then takes effect exactly once.
    atomic: bool = False

    @property
    def durable(self) -> bool:
        return not self.broadcast

    @property
    def key(self) -> str:
        if self.name:
            return self.name
        qual = getattr(self.handler, "__qualname__", type(self.handler).__name__)
        module = getattr(self.handler, "__module__", "") or ""
        return f"{self.plugin or module}:{qual}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a durable handler may ask about the event it is running for."""

    event_id: str
    topic: str
    attempt: int  # 1 on the first try
    occurred_at: str  # ISO 8601, UTC: when the publishing transaction ran


_delivery: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar("shop_event_delivery", default=None)


def current_delivery() -> Delivery | None:
    """The delivery being handled (inside a durable handler), else None."""
    return _delivery.get()


class EventBus:
    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        self._subs: dict[str, list[Subscription]] = {}
        self._types: dict[str, type[Event]] = {}
        self._publisher: Callable[[bytes], Awaitable[None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._durable: dict[str, dict[str, Subscription]] = {}  # topic -> key -> subscription
        # With an outbox, durable subscribers are run by its worker; without one (a bus
        # built without a database) every subscriber runs in process after commit.
        self.outbox_enabled = False

    def register_type(self, event_type: type[Event]) -> None:
        if not event_type.topic:
            raise ValueError(f"event {event_type.__name__} has no topic")
        self._types[event_type.topic] = event_type

    def subscribe(self, sub: Subscription) -> None:
        self.register_type(sub.event_type)
        topic = sub.event_type.topic
        if sub.durable:
            named = self._durable.setdefault(topic, {})
            if sub.key in named:
                raise ValueError(f"two durable handlers named {sub.key!r} for {topic}; give one a name=")
            named[sub.key] = sub
        self._subs.setdefault(topic, []).append(sub)

    def durable_keys(self, topic: str) -> list[str]:
        return list(self._durable.get(topic, {}))

    def durable_handler(self, topic: str, key: str) -> Subscription | None:
        return self._durable.get(topic, {}).get(key)

    def all_durable_keys(self) -> list[str]:
        return sorted({k for named in self._durable.values() for k in named})

    def event_type(self, topic: str) -> type[Event] | None:
        return self._types.get(topic)

    def set_publisher(self, publisher: Callable[[bytes], Awaitable[None]] | None) -> None:
        self._publisher = publisher

    async def dispatch_local(self, event: Event, *, remote: bool = False) -> None:
        for sub in self._subs.get(event.topic, ()):
            if (remote or self.outbox_enabled) and not sub.broadcast:
                continue
            try:
                await sub.handler(event)
            except Exception:
                log.exception("event_handler_failed", extra={"topic": event.topic, "plugin": sub.plugin})

    async def deliver(self, event: Event) -> None:
        """Deliver now (the caller made sure any transaction has committed)."""
        await self.dispatch_local(event)
        if self._publisher is not None:
            payload = orjson.dumps({"o": self.instance_id, "t": event.topic, "d": encode(event)})
            try:
                await self._publisher(payload)
            except Exception as exc:  # Redis down: other instances rely on TTLs
                log.warning("event_fanout_failed", extra={"topic": event.topic, "error": str(exc)})

    async def receive(self, payload: bytes) -> None:
        """An event from another instance (via Redis)."""
        try:
            data = orjson.loads(payload)
            if data.get("o") == self.instance_id:
                return
            event_type = self._types.get(data.get("t"))
            if event_type is None:
                return
            event: Event = decode(typing.cast(type, event_type), data["d"])
        except Exception:
            log.warning("event_payload_invalid")
            return
        await self.dispatch_local(event, remote=True)


def event_fields(event: Event) -> dict[str, Any]:
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(typing.cast(Any, event))}
