"""GCRA rate limits in Redis, with leases shared fairly across processes."""

from __future__ import annotations

import uuid

from kernel.engine.ratelimit import RateClass, RateLimiter
from kernel.storage.redis_link import RedisLink


async def test_leases_never_let_two_processes_exceed_the_shared_limit(servers):
    prefix = f"rl{uuid.uuid4().hex[:6]}:"
    links = [RedisLink(servers["redis"], prefix) for _ in range(2)]
    # One token per 12 s refills: on a loaded machine the 400 hits may take longer than
    # 60 s / 300 = 200 ms, and GCRA would rightly let one more through.
    classes = {"read": RateClass("read", 300, 3600.0)}
    a, b = (RateLimiter(link, classes) for link in links)
    assert RateLimiter.lease_size(classes["read"]) == 3
    allowed = 0
    for i in range(400):
        state = await (a if i % 2 else b).hit("read", "ip:10.0.0.1")
        assert state is not None
        allowed += state.retry_after == 0
    assert allowed == 300  # the burst, exactly, split between both processes
    denied = await a.hit("read", "ip:10.0.0.1")
    assert denied is not None and denied.retry_after > 0 and denied.remaining == 0
    other = await a.hit("read", "ip:10.0.0.2")
    assert other is not None and other.retry_after == 0  # per identity
    for link in links:
        await link.close()


async def test_small_limits_are_counted_one_by_one(servers):
    link = RedisLink(servers["redis"], f"rl{uuid.uuid4().hex[:6]}:")
    limiter = RateLimiter(link, {"login": RateClass("login", 3, 60.0)})
    assert RateLimiter.lease_size(limiter.classes["login"]) == 1
    states = [await limiter.hit("login", "acct:x") for _ in range(4)]
    assert [s.retry_after == 0 for s in states if s] == [True, True, True, False]
    assert [s.remaining for s in states if s][:3] == [2, 1, 0]
    await link.close()


async def test_outage_policy_decides_when_redis_is_down():
    link = RedisLink("redis://127.0.0.1:1/0", "x:")
    allow = RateLimiter(link, {"read": RateClass("read", 10, 60.0)}, outage_policy="allow")
    assert await allow.hit("read", "ip:1") is None
    deny = RateLimiter(link, {"read": RateClass("read", 10, 60.0)}, outage_policy="deny")
    link._down_until = 0
    try:
        await deny.hit("read", "ip:1")
        raised = False
    except Exception as exc:  # RateLimitUnavailable
        raised = type(exc).__name__ == "RateLimitUnavailable"
    assert raised
    await link.close()


async def test_concurrent_requests_share_one_lease_renewal(servers):
    import asyncio

    link = RedisLink(servers["redis"], f"rl{uuid.uuid4().hex[:6]}:")
    limiter = RateLimiter(link, {"read": RateClass("read", 100_000, 60.0)})
    calls = 0
    original = link.run

    async def counting(fn):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await original(fn)

    link.run = counting  # type: ignore[method-assign]
    states = await asyncio.gather(*[limiter.hit("read", "ip:herd") for _ in range(300)])
    assert all(s is not None and s.retry_after == 0 for s in states)
    assert calls <= 10  # leases of 100 renewed once each, not once per waiting request
    await link.close()
