"""The transactional outbox: durable events, delivered at least once, in order per aggregate.

``bus.publish(event)`` inside a transaction writes the event and one task per
durable subscriber (``shop_outbox`` / ``shop_outbox_task``) in that same
transaction, in one statement that also NOTIFYs the workers. Rolled back, the
event never existed; committed, it survives any crash.

A worker runs in every serving process. It claims due tasks with
``FOR UPDATE SKIP LOCKED`` and a lease (``run_at`` moves to now + lease, so a
process that dies mid-handler only delays the task until the lease ends). Only
the oldest unfinished task of each (handler, aggregate) is claimable, which keeps
each aggregate's events in order per handler while different aggregates run in
parallel. A failed handler is retried with exponential backoff and jitter; after
``max_attempts`` the task is ``dead`` (visible in ``shop events status`` and the
metrics) and no longer holds back the aggregate's later events. The ``done`` row
is the record that (handler, event id) was processed.

Why not pgqueuer or procrastinate: see docs/architecture.md ("Outbox"). In short,
enqueueing must join the caller's asyncpg/Piccolo transaction, and delivery must
be ordered per aggregate with poison tasks stepping aside; neither library offers
both without a second driver or a global serialisation.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
import typing
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

from ..core.events import Delivery, Event, EventBus, _delivery
from ..core.messages import decode, encode
from ..core.tasks import cancel_and_wait
from .db import Database

log = logging.getLogger("shop.kernel.outbox")

CHANNEL = "shop_outbox"

_WRITE = f"""
WITH e AS (
    INSERT INTO shop_outbox (id, topic, aggregate, payload) VALUES ($1, $2, $3, $4::jsonb) RETURNING id
), t AS (
    INSERT INTO shop_outbox_task (event_id, handler, aggregate, run_at, claimed_by)
    SELECT e.id, h, $3, now() + make_interval(secs => $6), $7 FROM e, unnest($5::text[]) AS h RETURNING 1
)
SELECT pg_notify('{CHANNEL}', '') FROM (SELECT count(*) FROM t) AS n
"""

# Claim the head task of each (handler, aggregate) that is due, skipping rows another
# worker holds; the lease is the new run_at.
_CLAIM = """
UPDATE shop_outbox_task t
SET run_at = now() + make_interval(secs => $3), attempts = t.attempts + 1, claimed_by = $4
FROM (
    SELECT c.id FROM shop_outbox_task c
    WHERE c.state = 'pending' AND c.run_at <= now() AND c.handler = ANY($1::text[])
      AND NOT EXISTS (
          SELECT 1 FROM shop_outbox_task p
          WHERE p.handler = c.handler AND p.aggregate = c.aggregate AND p.state = 'pending' AND p.id < c.id)
    ORDER BY c.run_at, c.id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
) AS picked, shop_outbox e
WHERE t.id = picked.id AND e.id = t.event_id
RETURNING t.id, t.handler, t.attempts, e.id AS event_id, e.topic, e.payload::text AS payload,
          to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at
"""

# The tasks of one event this process wrote already leased to itself (a publish outside a transaction),
# those at the head of their aggregate.
_CLAIM_OWN = """
UPDATE shop_outbox_task t SET attempts = t.attempts + 1
FROM (
    SELECT c.id FROM shop_outbox_task c
    WHERE c.event_id = $1 AND c.state = 'pending' AND c.claimed_by = $2 AND c.attempts = 0
      AND NOT EXISTS (
          SELECT 1 FROM shop_outbox_task p
          WHERE p.handler = c.handler AND p.aggregate = c.aggregate AND p.state = 'pending' AND p.id < c.id)
    FOR UPDATE SKIP LOCKED
) AS picked, shop_outbox e
WHERE t.id = picked.id AND e.id = t.event_id
RETURNING t.id, t.handler, t.attempts, e.id AS event_id, e.topic, e.payload::text AS payload,
          to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at
"""

_DONE = "UPDATE shop_outbox_task SET state = 'done', done_at = now(), last_error = NULL WHERE id = $1"

_STATUS = """
SELECT handler,
       count(*) FILTER (WHERE state = 'pending') AS pending,
       count(*) FILTER (WHERE state = 'pending' AND run_at <= now()) AS due,
       count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying,
       count(*) FILTER (WHERE state = 'dead') AS dead,
       extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending'))::float8 AS oldest_seconds
FROM shop_outbox_task WHERE state <> 'done' GROUP BY handler ORDER BY handler
"""


@dataclass
class OutboxPolicy:
    max_attempts: int = 15
    backoff_base: float = 1.0  # seconds before the 2nd attempt; doubles each time
    backoff_cap: float = 900.0
    lease: float = 60.0  # a claimed task is retaken after this (the claimer died)
    handler_timeout: float = 30.0  # below the lease, so a live worker never loses its task
    poll: float = 2.0  # also re-checked on NOTIFY and local publishes
    batch: int = 32
    keep_done_days: int = 7

    def backoff(self, attempts: int) -> float:
        """Exponential with "equal jitter": half fixed, half random, so retries spread out."""
        delay: float = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        return delay / 2 + random.uniform(0, delay / 2)


class OutboxMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.handled = Counter("shop_outbox_handled_total", "Outbox handler runs by handler and outcome",
                               ["handler", "outcome"], registry=registry)
        self.lag = Gauge("shop_outbox_lag_seconds", "Age of the oldest undelivered outbox task",
                         registry=registry)
        self.backlog = Gauge("shop_outbox_backlog", "Undelivered outbox tasks", registry=registry)
        self.dead = Gauge("shop_outbox_dead", "Outbox tasks that gave up after max attempts", registry=registry)


class Outbox:
    def __init__(self, db: Database, events: EventBus, registry: CollectorRegistry, *, instance_id: str,
                 policy: OutboxPolicy | None = None) -> None:
        self.db = db
        self.events = events
        self.instance_id = instance_id
        self.policy = policy or OutboxPolicy()
        self.metrics = OutboxMetrics(registry)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._last_gauges = 0.0
        self._last_purge = time.monotonic()
        self._written: collections.deque[uuid.UUID] = collections.deque(maxlen=10_000)  # for drain()

    # ------------------------------------------------------------------ writing

    async def write(self, event: Event, *, run_here: bool = False) -> str | None:
        """Store ``event`` with a task per durable subscriber (in the current transaction, if any).

        With ``run_here`` the tasks start leased to this process, which runs them at once
        (:meth:`run_event`); no other worker can take them first.
        """
        keys = self.events.durable_keys(event.topic)
        if not keys:
            return None  # nobody to deliver to: nothing to keep
        event_id = uuid.uuid4()
        aggregate = event.aggregate_key() or f"event:{event_id}"
        payload = orjson.dumps(encode(event)).decode()
        lease = self.policy.lease if run_here else 0.0
        await self.db.fetchval(_WRITE, event_id, event.topic, aggregate, payload, keys, lease,
                               self.instance_id if run_here else None)
        self._written.append(event_id)
        return str(event_id)

    async def drain(self, within: float = 10.0) -> None:
        """Wait until the tasks of every event this process wrote (and this process can run) are
        finished, done or dead. For tests and tools that need "the events have been handled"."""
        ids, keys = list(self._written), self.events.all_durable_keys()
        deadline = time.monotonic() + within
        while await self.db.fetchval(
                "SELECT count(*) FROM shop_outbox_task WHERE event_id = ANY($1::uuid[]) AND handler = ANY($2::text[]) "
                "AND state = 'pending'", ids, keys):
            if time.monotonic() > deadline:
                raise TimeoutError("outbox tasks still pending")
            self.wake()
            await asyncio.sleep(0.02)

    def wake(self) -> None:
        self._wake.set()

    async def run_event(self, event_id: str) -> None:
        """Run ``event_id``'s tasks now, in the caller's task (a publish outside any transaction:
        there is no commit to wait for). What fails, or waits behind an earlier event of its
        aggregate, stays in the outbox for the worker."""
        eid = uuid.UUID(event_id)
        try:
            for row in await self.db.fetch(_CLAIM_OWN, eid, self.instance_id):
                await self._run(row)
        finally:
            # Whatever waits behind an earlier event of its aggregate goes to the workers, in order.
            await self.db.execute("UPDATE shop_outbox_task SET run_at = now(), claimed_by = NULL WHERE event_id = $1 "
                                  "AND state = 'pending' AND attempts = 0 AND claimed_by = $2", eid, self.instance_id)
            self.wake()

    # ------------------------------------------------------------------ worker

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="shop-outbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._running:
            # Let handlers in flight finish briefly; an unfinished one is retaken after its lease.
            await asyncio.wait(self._running, timeout=5)
            await cancel_and_wait(*self._running)
        await self._close_listener()

    async def _loop(self) -> None:
        while True:
            try:
                await self._ensure_listener()
                await self.run_once()
                await self._housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away: try again next round
                log.warning("outbox_round_failed", extra={"error": str(exc)})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.policy.poll):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due (up to a batch) and run it; returns the number of tasks run."""
        keys = self.events.all_durable_keys()
        if not keys:
            return 0
        total = 0
        while True:
            rows = await self.db.fetch(_CLAIM, keys, self.policy.batch, self.policy.lease, self.instance_id)
            if not rows:
                return total
            tasks = [asyncio.create_task(self._run(r)) for r in rows]
            for t in tasks:
                self._running.add(t)
                t.add_done_callback(self._running.discard)
            await asyncio.gather(*tasks, return_exceptions=True)
            total += len(rows)
            if len(rows) < self.policy.batch:
                return total

    async def _run(self, row: asyncpg.Record) -> None:
        key, topic, task_id, attempts = row["handler"], row["topic"], row["id"], row["attempts"]
        sub = self.events.durable_handler(topic, key)
        event_type = self.events.event_type(topic)
        if sub is None or event_type is None:
            # This process knows the handler but not for this topic: leave it for one that does.
            await self.db.execute("UPDATE shop_outbox_task SET run_at = now() + interval '30 seconds', "
                                  "attempts = attempts - 1 WHERE id = $1", task_id)
            return
        token = _delivery.set(Delivery(event_id=str(row["event_id"]), topic=topic, attempt=attempts,
                                       occurred_at=row["occurred_at"]))
        try:
            event: Any = decode(typing.cast(type, event_type), orjson.loads(row["payload"]))
            async with asyncio.timeout(self.policy.handler_timeout):
                if sub.atomic:
                    async with self.db.transaction():
                        await sub.handler(event)
                        await self.db.execute(_DONE, task_id)
                else:
                    await sub.handler(event)
                    await self.db.execute(_DONE, task_id)
            self.metrics.handled.labels(key, "ok").inc()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(task_id, key, topic, attempts, exc)
        finally:
            _delivery.reset(token)

    async def _failed(self, task_id: int, key: str, topic: str, attempts: int, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= self.policy.max_attempts:
            await self.db.execute("UPDATE shop_outbox_task SET state = 'dead', last_error = $2 WHERE id = $1",
                                  task_id, error)
            self.metrics.handled.labels(key, "dead").inc()
            log.error("outbox_task_dead", extra={"handler": key, "topic": topic, "task": task_id,
                                                 "attempts": attempts, "error": error})
            return
        delay = self.policy.backoff(attempts)
        await self.db.execute(
            "UPDATE shop_outbox_task SET run_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1",
            task_id, delay, error)
        self.metrics.handled.labels(key, "retry").inc()
        log.warning("outbox_handler_failed", extra={"handler": key, "topic": topic, "task": task_id,
                                                    "attempts": attempts, "retry_in": round(delay, 2),
                                                    "error": error})

    # ------------------------------------------------------------ wake-ups

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        await self._close_listener()
        try:
            conn = await asyncpg.connect(self.db.url, timeout=5,
                                         server_settings={"application_name": "shopkernel-outbox"})
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            self._listener = conn
        except Exception as exc:  # polling still works without it
            log.warning("outbox_listen_failed", extra={"error": str(exc)})

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    # --------------------------------------------------------- housekeeping

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_gauges >= 5:
            self._last_gauges = now
            await self.refresh_gauges()
        if now - self._last_purge >= 600:
            self._last_purge = now
            await self.purge()

    async def refresh_gauges(self) -> None:
        row = await self.db.fetchrow(
            "SELECT count(*) FILTER (WHERE state = 'pending') AS backlog, "
            "count(*) FILTER (WHERE state = 'dead') AS dead, "
            "coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending')), 0)::float8 AS lag "
            "FROM shop_outbox_task WHERE state <> 'done'")
        if row is not None:
            self.metrics.backlog.set(row["backlog"])
            self.metrics.dead.set(row["dead"])
            self.metrics.lag.set(row["lag"])

    async def purge(self) -> int:
        """Forget tasks done more than ``keep_done_days`` ago, and events left without tasks."""
        status = await self.db.execute(
            "DELETE FROM shop_outbox_task WHERE state = 'done' AND done_at < now() - make_interval(days => $1)",
            self.policy.keep_done_days)
        await self.db.execute(
            "DELETE FROM shop_outbox e WHERE created_at < now() - make_interval(days => $1) "
            "AND NOT EXISTS (SELECT 1 FROM shop_outbox_task t WHERE t.event_id = e.id)", self.policy.keep_done_days)
        return int(status.split()[-1])

    # --------------------------------------------------------------- status

    async def status(self) -> dict[str, Any]:
        rows = await self.db.fetch(_STATUS)
        handlers = [{"handler": r["handler"], "pending": r["pending"], "due": r["due"], "retrying": r["retrying"],
                     "dead": r["dead"], "oldestPendingSeconds": round(r["oldest_seconds"] or 0.0, 3)}
                    for r in rows]
        dead = await self.db.fetch(
            "SELECT t.id, t.handler, e.topic, t.attempts, t.last_error, e.id::text AS event_id FROM shop_outbox_task t "
            "JOIN shop_outbox e ON e.id = t.event_id WHERE t.state = 'dead' ORDER BY t.id DESC LIMIT 20")
        return {
            "pending": sum(h["pending"] for h in handlers),
            "dead": sum(h["dead"] for h in handlers),
            "oldestPendingSeconds": max((h["oldestPendingSeconds"] for h in handlers), default=0.0),
            "handlers": handlers,
            "recentDead": [{"task": r["id"], "handler": r["handler"], "topic": r["topic"], "eventId": r["event_id"],
                            "attempts": r["attempts"], "error": r["last_error"]} for r in dead],
        }

    async def retry_dead(self, handler: str | None = None) -> int:
        """Give dead tasks another round of attempts (after fixing what killed them)."""
        status = await self.db.execute(
            "UPDATE shop_outbox_task SET state = 'pending', attempts = 0, run_at = now() "
            "WHERE state = 'dead' AND ($1::text IS NULL OR handler = $1)", handler)
        self.wake()
        return int(status.split()[-1])
