"""Typed events: published by servicers, delivered after the transaction commits.

In one process, subscribers run in process. When Redis is configured, events also
go to the other instances over Redis pub/sub; there only the subscribers declared
``broadcast=True`` (cache invalidation and the like) see them, so work such as
sending a mail happens once, on the instance that published.
"""

from __future__ import annotations

import asyncio
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
    """Base of event messages. Subclasses are messages with a ``topic``."""

    topic: ClassVar[str] = ""

    def __init_subclass__(cls, *, topic: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if topic:
            cls.topic = topic


Handler = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    event_type: type[Event]
    handler: Handler
    broadcast: bool = False  # also run when the event came from another instance
    plugin: str = ""


class EventBus:
    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        self._subs: dict[str, list[Subscription]] = {}
        self._types: dict[str, type[Event]] = {}
        self._publisher: Callable[[bytes], Awaitable[None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def register_type(self, event_type: type[Event]) -> None:
        if not event_type.topic:
            raise ValueError(f"event {event_type.__name__} has no topic")
        self._types[event_type.topic] = event_type

    def subscribe(self, sub: Subscription) -> None:
        self.register_type(sub.event_type)
        self._subs.setdefault(sub.event_type.topic, []).append(sub)

    def set_publisher(self, publisher: Callable[[bytes], Awaitable[None]] | None) -> None:
        self._publisher = publisher

    async def dispatch_local(self, event: Event, *, remote: bool = False) -> None:
        for sub in self._subs.get(event.topic, ()):
            if remote and not sub.broadcast:
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
