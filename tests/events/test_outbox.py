"""The transactional outbox on the real PostgreSQL: written in the transaction, delivered at least once,
in order per aggregate, retried with backoff, poison events set aside, safe with several workers."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kernel.commands.cli import KERNEL_COMMANDS, build_parser
from kernel.core.events import Event, Subscription, current_delivery
from kernel.core.messages import message
from kernel.engine.runtime import Runtime
from tests.conftest import rt_of


@message
class Ping(Event, topic="evtest.ping", aggregate="key"):
    key: str
    n: int


async def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def fast(rt: Runtime, **changes: Any) -> None:
    assert rt.outbox is not None
    p = rt.outbox.policy
    p.backoff_base, p.poll = 0.05, 0.1
    for k, v in changes.items():
        setattr(p, k, v)


async def app(make_client: Any, handler: Callable[[Ping], Awaitable[None]], name: str, **policy: Any) -> Runtime:
    client = await make_client([])
    rt = rt_of(client)
    fast(rt, **policy)
    rt.events.subscribe(Subscription(Ping, handler, name=name))
    return rt


async def publish(rt: Runtime, *events: Ping, fail: bool = False) -> None:
    async with rt.db.transaction():
        for e in events:
            await rt.bus.publish(e)
        if fail:
            raise RuntimeError("rolled back")


async def states(rt: Runtime, name: str, expect: list[tuple[str, int]] | None = None) -> list[tuple[str, int]]:
    """The tasks' (state, attempts); with ``expect``, wait a little for them to get there (marking
    a task done follows its handler)."""
    for _ in range(250):
        rows = await rt.db.fetch("SELECT state, attempts FROM shop_outbox_task WHERE handler = $1 ORDER BY id", name)
        got = [(r["state"], r["attempts"]) for r in rows]
        if expect is None or got == expect:
            break
        await asyncio.sleep(0.02)
    return got


async def test_an_event_is_stored_with_the_transaction_and_dropped_with_its_rollback(make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    seen: list[tuple[int, str | None]] = []

    async def handler(e: Ping) -> None:
        d = current_delivery()
        seen.append((e.n, d.event_id if d else None))

    rt = await app(make_client, handler, name)
    key = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        await publish(rt, Ping(key=key, n=1), fail=True)
    await publish(rt, Ping(key=key, n=2))
    await eventually(lambda: len(seen) == 1)
    await asyncio.sleep(0.2)
    assert [n for n, _ in seen] == [2]
    stored = await rt.db.fetchrow("SELECT id::text AS id, aggregate, payload::text AS payload FROM shop_outbox "
                                  "WHERE id = (SELECT event_id FROM shop_outbox_task WHERE handler = $1)", name)
    assert stored is not None and stored["id"] == seen[0][1]
    assert stored["aggregate"] == f"evtest:{key}"
    assert await states(rt, name, [("done", 1)]) == [("done", 1)]


async def test_a_failing_handler_is_retried_with_backoff_until_it_succeeds(make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    attempts: list[int] = []

    async def flaky(e: Ping) -> None:
        d = current_delivery()
        assert d is not None
        attempts.append(d.attempt)
        if d.attempt < 3:
            raise ConnectionError("receiver down")

    rt = await app(make_client, flaky, name)
    await publish(rt, Ping(key="k", n=1))
    await eventually(lambda: attempts == [1, 2, 3])
    assert await states(rt, name, [("done", 3)]) == [("done", 3)]


async def test_a_poison_event_goes_dead_and_stops_holding_back_its_aggregate(make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    handled: list[tuple[str, int]] = []

    async def handler(e: Ping) -> None:
        if e.n == 1:
            raise ValueError("cannot handle this one")
        handled.append((e.key, e.n))

    rt = await app(make_client, handler, name, max_attempts=3)
    await publish(rt, Ping(key="x", n=1), Ping(key="x", n=2), Ping(key="y", n=3))
    # The other aggregate is never held back; x's next event waits for the poison to die, then runs.
    await eventually(lambda: ("y", 3) in handled)
    await eventually(lambda: ("x", 2) in handled)
    expected = [("dead", 3), ("done", 1), ("done", 1)]
    assert await states(rt, name, expected) == expected
    assert rt.outbox is not None
    status = await rt.outbox.status()
    mine = next(h for h in status["handlers"] if h["handler"] == name)
    assert mine["dead"] == 1 and mine["pending"] == 0
    assert any(d["handler"] == name and "cannot handle" in d["error"] for d in status["recentDead"])
    # Fixed: dead tasks can be given another round.
    assert await rt.outbox.retry_dead(name) == 1


async def test_two_workers_deliver_each_event_once_and_each_aggregate_in_order(make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    log: list[tuple[str, str, int]] = []
    running: dict[str, int] = {}
    overlaps: list[str] = []

    def handler_for(worker: str) -> Callable[[Ping], Awaitable[None]]:
        async def handler(e: Ping) -> None:
            running[e.key] = running.get(e.key, 0) + 1
            if running[e.key] > 1:
                overlaps.append(e.key)  # two events of one aggregate at once: order would be lost
            await asyncio.sleep(random.uniform(0, 0.01))
            log.append((worker, e.key, e.n))
            running[e.key] -= 1
        return handler

    a = await app(make_client, handler_for("a"), name, batch=8)
    b = await app(make_client, handler_for("b"), name, batch=8)
    keys = [f"agg{i}" for i in range(12)]
    for n in range(10):
        await publish(a if n % 2 else b, *(Ping(key=k, n=n) for k in keys))
    await eventually(lambda: len(log) >= 120, timeout=60)
    await asyncio.sleep(0.3)
    assert len(log) == 120  # each once: nothing failed, no lease ran out
    assert overlaps == []
    for k in keys:
        assert [n for _w, key, n in log if key == k] == list(range(10))
    assert {w for w, _k, _n in log} == {"a", "b"}  # both processes took part


async def test_a_task_whose_worker_died_is_taken_again_after_its_lease(make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    seen: list[int] = []

    async def handler(e: Ping) -> None:
        seen.append(e.n)

    rt = await app(make_client, handler, name)
    assert rt.outbox is not None
    await rt.outbox.stop()  # this process stops working; a "dead" one claims the task and vanishes
    await publish(rt, Ping(key="z", n=7))
    await rt.db.execute("UPDATE shop_outbox_task SET attempts = 1, claimed_by = 'gone', "
                        "run_at = now() + interval '0.4 seconds' WHERE handler = $1", name)
    await rt.outbox.start()
    await asyncio.sleep(0.2)
    assert seen == []  # still leased
    await eventually(lambda: seen == [7])
    assert await states(rt, name, [("done", 2)]) == [("done", 2)]


async def test_events_status_shows_the_backlog_and_metrics_show_the_lag(make_client: Any, capsys: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"

    async def handler(e: Ping) -> None:
        raise RuntimeError("not yet")

    client = await make_client([])
    rt = rt_of(client)
    assert rt.outbox is not None
    await rt.outbox.stop()
    rt.events.subscribe(Subscription(Ping, handler, name=name))
    await publish(rt, Ping(key="s", n=1), Ping(key="s", n=2))
    parser = build_parser(KERNEL_COMMANDS)
    args = parser.parse_args(["events", "status", "--json"])
    assert await args.command_obj.run(args, rt) == 0
    import orjson

    status = orjson.loads(capsys.readouterr().out)
    mine = next(h for h in status["handlers"] if h["handler"] == name)
    assert mine["pending"] == 2 and mine["due"] == 2 and mine["dead"] == 0
    args = parser.parse_args(["events", "status"])
    assert await args.command_obj.run(args, rt) == 0
    assert f"{name}: pending 2" in capsys.readouterr().out
    await rt.outbox.refresh_gauges()
    body = await (await client.get("/metrics")).text()
    assert "shop_outbox_backlog" in body and "shop_outbox_lag_seconds" in body
    await rt.db.execute("UPDATE shop_outbox_task SET state = 'done' WHERE handler = $1", name)


async def test_outside_a_transaction_handlers_run_before_publish_returns_and_failures_stay_queued(
        make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    calls: list[int] = []

    async def handler(e: Ping) -> None:
        calls.append(e.n)
        if e.n == 2 and calls.count(2) == 1:
            raise ConnectionError("first try fails")

    rt = await app(make_client, handler, name)
    await rt.bus.publish(Ping(key="inline", n=1))
    assert calls == [1]  # no commit to wait for: delivered in the caller's task
    await rt.bus.publish(Ping(key="inline", n=2))
    assert calls == [1, 2]
    await eventually(lambda: calls == [1, 2, 2])  # retried by the worker
    assert await states(rt, name, [("done", 1), ("done", 2)]) == [("done", 1), ("done", 2)]


async def test_drain_waits_until_the_events_this_process_wrote_are_handled(make_client: Any) -> None:
    name = f"evtest:{uuid.uuid4().hex}"
    seen: list[int] = []

    async def slow(e: Ping) -> None:
        await asyncio.sleep(0.2)
        seen.append(e.n)

    rt = await app(make_client, slow, name)
    assert rt.outbox is not None
    await publish(rt, Ping(key="d", n=1), Ping(key="d", n=2))
    await rt.outbox.drain()
    assert seen == [1, 2]
