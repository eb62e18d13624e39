"""Bus.admit: the checks an answer served from a whole-response cache must still pass.

A cached GraphQL answer runs no bus call, so the kernel replays the admission part of
each call it stands for: authorization (all of it first, counting nothing when one
fails) and then one rate-limit hit per call, like the calls themselves would.
"""

from __future__ import annotations

import pytest

from kernel.core.context import ANONYMOUS, CallContext
from kernel.core.status import BusError, Status
from tests.conftest import rt_of
from tests.support import fake_identity, hello_plugin
from tests.support.fake_identity import principal_header, user_principal

PLUGINS = [hello_plugin, fake_identity]
Hello = hello_plugin.Hello


async def test_each_call_counts_once_and_the_next_past_the_limit_is_refused(make_client, settings):
    client = await make_client(PLUGINS, rate_limits=dict(settings.rate_limits, hello=(3, 600.0)))
    bus = rt_of(client).bus
    ctx = CallContext(principal=user_principal("adm1"), client_ip="127.0.0.1")
    assert await bus.admit([Hello.greet, Hello.greet], ctx) is True
    assert ctx.rate_limit is not None and ctx.rate_limit.remaining == 1
    assert await bus.admit([Hello.greet], ctx) is True
    with pytest.raises(BusError) as refused:
        await bus.admit([Hello.greet], ctx)
    assert refused.value.status is Status.RESOURCE_EXHAUSTED and refused.value.retry_after >= 1
    assert ctx.rate_limit.retry_after > 0


async def test_a_failed_authorization_admits_nothing_and_counts_nothing(make_client, settings):
    client = await make_client(PLUGINS, rate_limits=dict(settings.rate_limits, hello=(2, 600.0)))
    bus = rt_of(client).bus
    anon = CallContext(principal=ANONYMOUS, client_ip="10.1.2.3")
    assert await bus.admit([Hello.greet, Hello.secret], anon) is False
    assert anon.rate_limit is None  # refused before any rate limit was counted
    user = CallContext(principal=user_principal("u9"), client_ip="10.1.2.3")
    assert await bus.admit([Hello.secret], user) is False  # signed in, without the admin scope
    # The whole budget is still there for real calls.
    assert await bus.admit([Hello.greet, Hello.greet], anon) is True


async def test_a_cached_graphql_answer_counts_against_the_rate_limit_of_its_calls(make_client, settings):
    # get_count is cached and not rate limited; greet is limited but never cached: so the
    # kernel's own check is what holds here, through the HTTP adapter, with the 429 shape.
    client = await make_client(PLUGINS, rate_limits=dict(settings.rate_limits, hello=(2, 600.0)))
    await client.post("/api/hello", json={"name": "adm"}, headers=principal_header("w1"))
    q = {"query": '{ helloCount(name: "adm") { count } }'}
    first = await client.post("/graphql", json=q)
    second = await client.post("/graphql", json=q)
    assert first.status == second.status == 200 and second.headers["X-Cache"] == "local"
    # A mutation past the limit is a 429 with the RateLimit headers, as on REST.
    h = principal_header("w2")
    statuses = []
    for i in range(3):
        r = await client.post("/graphql", json={"query": f'mutation {{ greet(name: "adm{i}") {{ count }} }}'},
                              headers=h)
        statuses.append(r.status)
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(r.headers)
    assert statuses == [200, 200, 429]
    assert int(r.headers["Retry-After"]) >= 1
    body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "RESOURCE_EXHAUSTED"
