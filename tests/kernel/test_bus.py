"""The bus and its adapters, end to end through the test plugin `hello`."""

from __future__ import annotations

import asyncio

import pytest

from kernel.core.status import HTTP_STATUS, Status
from tests.conftest import rt_of
from tests.support import fake_identity, hello_plugin
from tests.support.fake_identity import principal_header

PLUGINS = [hello_plugin, fake_identity]


async def gql(client, query, variables=None, headers=None):
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    return r.status, await r.json()


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.OK])
async def test_every_status_maps_to_http_and_graphql(make_client, status):
    client = await make_client(PLUGINS)
    r = await client.get("/api/hello-boom", params={"code": status.name})
    assert r.status == HTTP_STATUS[status]
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = await r.json()
    assert body["code"] == status.name and body["status"] == HTTP_STATUS[status]
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    if status in (Status.INTERNAL, Status.UNKNOWN, Status.DATA_LOSS):
        assert "boom" not in body["detail"]  # internals never leak
    code, data = await gql(client, "query($c: String!) { helloBoom(code: $c) { text } }", {"c": status.name})
    assert code == 200
    assert data["errors"][0]["extensions"]["code"] == status.name


async def test_domain_reason_reaches_rest_and_graphql(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/api/hello-boom", params={"code": "FAILED_PRECONDITION"})
    assert r.status == 409 and (await r.json())["reason"] == "BOOM"
    _, data = await gql(client, '{ helloBoom(code: "FAILED_PRECONDITION") { text } }')
    assert data["errors"][0]["extensions"]["reason"] == "BOOM"


async def test_wrong_type_is_invalid_argument_naming_the_field(make_client):
    client = await make_client(PLUGINS)
    r = await client.post("/api/hello", json={"name": "ada", "times": "3"})
    assert r.status == 400
    body = await r.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert body["errors"] == [{"field": "times", "message": "must be an integer"}]
    r = await client.post("/api/hello", json={"name": "", "times": 99, "extra": 1})
    fields = {e["field"] for e in (await r.json())["errors"]}
    assert fields == {"name", "times", "extra"}
    r = await client.post("/api/hello", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "body"
    r = await client.post("/api/hello", json=[1, 2])
    assert r.status == 400
    r = await client.get("/api/hello-slow", params={"seconds": "abc"})
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "seconds"
    _, data = await gql(client, 'mutation { greet(name: "") { text } }')
    assert data["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    _, data = await gql(client, "{ nope }")
    assert data["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


async def test_int64_bounds_and_deep_json_are_refused(make_client):
    client = await make_client(PLUGINS)
    r = await client.post("/api/hello", json={"name": "ada", "times": 2**63})
    assert r.status == 400
    deep: dict = {}
    cur = deep
    for _ in range(40):
        cur["a"] = {}
        cur = cur["a"]
    r = await client.post("/api/hello", json={"name": "x", "deep": deep})
    assert r.status == 400 and "nests deeper" in (await r.json())["detail"]


async def test_authorization_follows_declared_scope(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/api/hello-secret")
    assert r.status == 401 and (await r.json())["code"] == "UNAUTHENTICATED"
    r = await client.get("/api/hello-secret", headers=principal_header("u1"))
    assert r.status == 403 and (await r.json())["code"] == "PERMISSION_DENIED"
    r = await client.get("/api/hello-secret", headers=principal_header("a1", roles=("admin",), scopes=("admin",)))
    assert r.status == 200


async def test_rate_limit_answers_429_with_headers(make_client, settings):
    limits = dict(settings.rate_limits, hello=(2, 60.0))
    client = await make_client(PLUGINS, rate_limits=limits)
    statuses = []
    for i in range(3):
        r = await client.post("/api/hello", json={"name": f"rl{i}"})
        statuses.append(r.status)
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(r.headers)
    assert statuses == [200, 200, 429]
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["RateLimit-Remaining"] == "0"


async def test_deadline_exceeded_is_504(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/api/hello-slow", params={"seconds": "1"})
    assert r.status == 504 and (await r.json())["code"] == "DEADLINE_EXCEEDED"


async def test_idempotency_key_replays_and_refuses_other_bodies(make_client):
    client = await make_client(PLUGINS, )
    h = {"Idempotency-Key": "k-123", **principal_header("idem-user")}
    r1 = await client.post("/api/hello", json={"name": "idem", "times": 1}, headers=h)
    r2 = await client.post("/api/hello", json={"name": "idem", "times": 1}, headers=h)
    assert r1.status == r2.status == 200
    assert await r1.read() == await r2.read()
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert r2.headers.get("Idempotency-Replayed") == "true"
    r = await client.get("/api/hello/idem")
    assert (await r.json())["count"] == 1  # moved once
    r3 = await client.post("/api/hello", json={"name": "idem", "times": 2}, headers=h)
    assert r3.status == 409 and (await r3.json())["reason"] == "IDEMPOTENCY_KEY_REUSED"
    # Keys are scoped to the caller: another user's same key is a new request.
    h2 = {"Idempotency-Key": "k-123", **principal_header("other-user")}
    r4 = await client.post("/api/hello", json={"name": "idem", "times": 1}, headers=h2)
    assert (await r4.json())["count"] == 2


async def test_concurrent_same_idempotency_key_moves_once(make_client):
    client = await make_client(PLUGINS)
    h = {"Idempotency-Key": "race-1", **principal_header("racer")}
    rs = await asyncio.gather(*[client.post("/api/hello", json={"name": "race"}, headers=h) for _ in range(8)])
    assert {r.status for r in rs} == {200}
    r = await client.get("/api/hello/race")
    assert (await r.json())["count"] == 1


async def test_cache_hit_miss_and_invalidation(make_client):
    client = await make_client(PLUGINS)
    servicer = rt_of(client).extras_hello
    await client.post("/api/hello", json={"name": "cache"})
    r1 = await client.get("/api/hello/cache")
    r2 = await client.get("/api/hello/cache")
    assert r1.headers["X-Cache"] == "miss" and r2.headers["X-Cache"] == "local"
    assert await r1.read() == await r2.read()  # byte-identical
    assert servicer.fills == 1
    await client.post("/api/hello", json={"name": "cache"})
    r3 = await client.get("/api/hello/cache")
    assert (await r3.json())["count"] == 2 and r3.headers["X-Cache"] == "miss"


async def test_cold_key_is_filled_once_under_a_stampede(make_client):
    client = await make_client(PLUGINS)
    servicer = rt_of(client).extras_hello
    await client.post("/api/hello", json={"name": "stampede"})
    rs = await asyncio.gather(*[client.get("/api/hello/stampede") for _ in range(50)])
    assert {r.status for r in rs} == {200}
    assert servicer.fills == 1


async def test_cache_invalidation_reaches_another_instance(make_client, settings):
    a = await make_client(PLUGINS)
    b = await make_client(PLUGINS, settings_obj=rt_of(a).settings)
    await a.post("/api/hello", json={"name": "twin"})
    assert (await (await b.get("/api/hello/twin")).json())["count"] == 1
    await a.post("/api/hello", json={"name": "twin"})
    for _ in range(50):  # pub/sub is asynchronous: give it a moment
        body = await (await b.get("/api/hello/twin")).json()
        if body["count"] == 2:
            break
        await asyncio.sleep(0.02)
    assert body["count"] == 2


async def test_events_are_delivered_after_commit_only(make_client):
    client = await make_client(PLUGINS)
    received = rt_of(client).extras_hello_events
    r = await client.post("/api/hello", json={"name": "rollback"})
    assert r.status == 409
    assert "rollback" not in received
    await client.post("/api/hello", json={"name": "committed"})
    assert received == ["committed"]


async def test_events_fan_out_to_other_instances_through_redis(make_client):
    a = await make_client(PLUGINS)
    b = await make_client(PLUGINS, settings_obj=rt_of(a).settings)
    await a.post("/api/hello", json={"name": "fanout"})
    got = rt_of(b).extras_hello_events
    for _ in range(100):
        if got:
            break
        await asyncio.sleep(0.02)
    assert got == ["fanout"]
    assert rt_of(a).extras_hello_events == ["fanout"]  # delivered once locally, not echoed back


async def test_unexpected_error_is_500_without_internals(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/api/hello-fail", params={"who": "x"})
    assert r.status == 500
    text = await r.text()
    assert "hunter2" not in text and "RuntimeError" not in text
    assert (await r.json())["requestId"] == r.headers["X-Request-Id"]
    _, data = await gql(client, "{ helloFail { text } }")
    assert data["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert "hunter2" not in str(data)


async def test_request_id_is_echoed_or_generated(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["X-Request-Id"] != "bad id with spaces" and len(r.headers["X-Request-Id"]) == 32


async def test_ops_endpoints(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json())["version"]
    r = await client.get("/readyz")
    assert r.status == 200 and (await r.json()) == {"ready": True, "status": "ready", "postgres": True,
                                                     "migrations": True, "redis": True,
                                                     "version": (await r.json())["version"]}
    await client.get("/api/hello/nobody")
    r = await client.get("/metrics")
    text = await r.text()
    assert "shop_bus_call_duration_seconds" in text and "shop_http_request_duration_seconds" in text


async def test_unknown_api_path_is_problem_json(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/api/nope")
    assert r.status == 404 and (await r.json())["code"] == "NOT_FOUND"
    r = await client.delete("/api/hello")
    assert r.status == 405 and r.headers["Content-Type"].startswith("application/problem+json")


async def test_graphql_limits_refuse_before_running(make_client, settings):
    client = await make_client(PLUGINS, graphql_max_aliases=5)
    aliases = " ".join(f'a{i}: helloCount(name: "x") {{ text }}' for i in range(6))
    _, data = await gql(client, "{ " + aliases + " }")
    assert data["errors"][0]["extensions"]["reason"] == "TOO_MANY_ALIASES"
    assert rt_of(client).extras_hello.fills == 0
    client = await make_client(PLUGINS, graphql_max_depth=2)
    _, data = await gql(client, '{ helloCount(name: "x") { text } __schema { types { fields { name } } } }')
    assert data["errors"][0]["extensions"]["reason"] == "QUERY_TOO_DEEP"


async def test_introspection_can_be_switched_off(make_client):
    on = await make_client(PLUGINS)
    _, data = await gql(on, "{ __schema { queryType { name } } }")
    assert data["data"]["__schema"]["queryType"]["name"] == "Query"
    off = await make_client(PLUGINS, graphql_introspection=False)
    _, data = await gql(off, "{ __schema { queryType { name } } }")
    assert data["errors"][0]["extensions"]["reason"] == "INTROSPECTION_DISABLED"


async def test_graphql_get_serves_the_explorer_and_bad_bodies_are_400(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/graphql", headers={"Accept": "text/html"})
    assert r.status == 200 and "GraphQL explorer" in await r.text()
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    r = await client.post("/graphql", json={"query": 5})
    assert r.status == 400 and (await r.json())["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


async def test_openapi_covers_every_route_with_error_responses(make_client):
    client = await make_client(PLUGINS)
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert doc["paths"]["/api/hello"]["post"]["x-bus-method"] == "/test.hello.v1.Hello/Greet"
    assert "400" in doc["paths"]["/api/hello"]["post"]["responses"]
    params = doc["paths"]["/api/hello-fail"]["get"]["parameters"]
    assert params[0]["name"] == "who"  # aliases are documented by their public name
    r = await client.get("/api/docs")
    assert "/api/hello" in await r.text()


async def test_graphql_responses_of_cached_reads_are_cached_whole_and_invalidated_by_writes(make_client):
    client = await make_client(PLUGINS)
    servicer = rt_of(client).extras_hello
    await client.post("/api/hello", json={"name": "gqlcache"})
    q = {"query": 'query Q($n: String!) { helloCount(name: $n) { text count } }', "variables": {"n": "gqlcache"}}
    r1 = await client.post("/graphql", json=q)
    r2 = await client.post("/graphql", json=q)
    assert r2.headers["X-Cache"] == "local" and await r1.read() == await r2.read()
    assert servicer.fills == 1
    await client.post("/api/hello", json={"name": "gqlcache"})  # invalidates hello:v1:gqlcache
    r3 = await client.post("/graphql", json=q)
    assert (await r3.json())["data"]["helloCount"]["count"] == 2
    # A query that touches an uncached method is never cached whole.
    local = rt_of(client).cache.local

    def whole_responses() -> int:
        return sum(1 for k in local._data if k.startswith("gql:"))

    before = whole_responses()
    mixed = {"query": '{ helloCount(name: "gqlcache") { count } helloBoom(code: "NOT_FOUND") { text } }'}
    await client.post("/graphql", json=mixed)
    await client.post("/graphql", json=mixed)
    assert whole_responses() == before
    # Mutations are never cached.
    m = {"query": 'mutation { greet(name: "gqlcache") { count } }'}
    counts = [(await (await client.post("/graphql", json=m)).json())["data"]["greet"]["count"] for _ in range(2)]
    assert counts == [3, 4]


async def test_idempotency_keys_are_forgotten_after_the_replay_window(make_client):
    from kernel.host.app import purge_idempotency_keys

    client = await make_client(PLUGINS)
    rt = rt_of(client)
    await rt.db.execute("INSERT INTO shop_idempotency (scope, key, method, request_hash, created_at) VALUES "
                        "('old-user', 'old-key', 'm', 'h', now() - interval '25 hours'), "
                        "('old-user', 'new-key', 'm', 'h', now() - interval '1 hour')")
    await purge_idempotency_keys(rt)
    keys = {r["key"] for r in await rt.db.fetch("SELECT key FROM shop_idempotency WHERE scope = 'old-user'")}
    assert keys == {"new-key"}
