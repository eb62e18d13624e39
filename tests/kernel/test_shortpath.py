"""The short path for public cached reads (kernel.web.shortpath), and what must never take it.

A test plugin serves a shared read (the same answer for everyone), a per-caller read
(``vary_by_principal``: each caller's own answer) and a middleware that marks every
response it sees, so a test can tell whether an answer came from the short path (which
skips plugin middlewares) or from the full path.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kernel.core.context import CallContext, Principal
from kernel.core.messages import constraint, message
from kernel.core.service import CachePolicy, Service, rpc
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart, bus_field
from kernel.web.rest import Route
from tests.support import fake_identity
from tests.support.fake_identity import principal_header


@message
class Ask:
    name: str = constraint(min_len=1, max_len=50)


@message
class Said:
    text: str
    version: int


@message
class Bump:
    name: str = constraint(min_len=1, max_len=50)


class Probe(Service, package="test.shortpath.v1"):
    shared = rpc(Ask, Said, rate_limit="probe", cache=CachePolicy(
        key=lambda r: f"probe:shared:{r.name}", ttl=120))
    mine = rpc(Ask, Said, rate_limit="probe", cache=CachePolicy(
        key=lambda r: f"probe:mine:{r.name}", ttl=120, vary_by_principal=True))
    bump = rpc(Bump, Said, write=True)


class ProbeServicer:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.version = 0
        self.fills = 0

    async def shared(self, req: Ask, ctx: CallContext) -> Said:
        self.fills += 1
        return Said(text=f"shared {req.name}", version=self.version)

    async def mine(self, req: Ask, ctx: CallContext) -> Said:
        self.fills += 1
        return Said(text=f"{req.name} for {ctx.principal.subject or 'anonymous'}", version=self.version)

    async def bump(self, req: Bump, ctx: CallContext) -> Said:
        self.version += 1
        await self.ctx.runtime.cache.invalidate([f"probe:shared:{req.name}", f"probe:mine:{req.name}"])
        return Said(text="bumped", version=self.version)


class ProbePlugin:
    """The probe service, its REST routes and GraphQL fields, and a marking middleware."""

    def __init__(self) -> None:
        self.servicer: ProbeServicer | None = None

    @hookimpl
    def shop_plugin(self) -> PluginInfo:
        return PluginInfo(name="probe", version="0", description="short path probe")

    @hookimpl
    def shop_services(self, ctx: PluginContext) -> list[Any]:
        self.servicer = ProbeServicer(ctx)
        return [(Probe, self.servicer)]

    @hookimpl
    def shop_routes(self, ctx: PluginContext) -> list[Route]:
        return [Route("GET", "/api/probe/shared/{name}", Probe.shared),
                Route("GET", "/api/probe/mine/{name}", Probe.mine),
                Route("POST", "/api/probe/bump", Probe.bump)]

    @hookimpl
    def shop_graphql(self, ctx: PluginContext) -> GraphQLPart:
        return GraphQLPart(
            sdl="extend type Query { probeShared(name: String!): Said, probeMine(name: String!): Said }",
            resolvers={"Query.probeShared": bus_field(Probe.shared), "Query.probeMine": bus_field(Probe.mine)})

    @hookimpl
    def shop_middlewares(self, ctx: PluginContext) -> list[Any]:
        @web.middleware
        async def mark(request: web.Request, handler: Any) -> web.StreamResponse:
            resp = await handler(request)
            resp.headers["X-Full-Path"] = "1"
            return resp

        return [mark]


class UndeclaredIdentity:
    """An authenticator that does not say which header it reads: the short path must be off."""

    @hookimpl
    def shop_plugin(self) -> PluginInfo:
        return PluginInfo(name="undeclared", version="0", description="reads X-Secret-Identity")

    @hookimpl
    def shop_authenticators(self, ctx: PluginContext) -> list[Any]:
        async def from_header(request: web.Request) -> Principal | None:
            who = request.headers.get("X-Secret-Identity")
            return Principal(kind="user", subject=who, user_id=who, via="bearer") if who else None

        return [from_header]


async def _client(make_client: Any, settings: Any, *extra: object, limit: int = 1000) -> tuple[Any, ProbePlugin]:
    probe = ProbePlugin()
    client = await make_client([probe, fake_identity, *extra],
                               rate_limits=dict(settings.rate_limits, probe=(limit, 600.0)))
    return client, probe


def _gql(field: str, name: str) -> dict[str, Any]:
    return {"query": f'{{ {field}(name: "{name}") {{ text version }} }}'}


async def test_a_warm_public_read_without_credentials_takes_the_short_path(make_client, settings):
    client, probe = await _client(make_client, settings)
    first = await client.get("/api/probe/shared/a")
    assert first.status == 200 and first.headers["X-Full-Path"] == "1"
    second = await client.get("/api/probe/shared/a")
    assert second.status == 200 and second.headers["X-Cache"] == "local"
    assert "X-Full-Path" not in second.headers  # answered before the plugins' middlewares
    assert await second.json() == await first.json() and second.headers["ETag"] == first.headers["ETag"]
    # The same headers as the full path: request id, rate limit, security headers; no private marking.
    for h in ("X-Request-Id", "RateLimit-Remaining", "X-Content-Type-Options", "Content-Security-Policy"):
        assert h in second.headers
    assert "Cache-Control" not in second.headers
    revalidated = await client.get("/api/probe/shared/a", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status == 304 and revalidated.headers["ETag"] == first.headers["ETag"]
    assert probe.servicer is not None and probe.servicer.fills == 1


async def test_a_caller_with_credentials_never_takes_the_short_path(make_client, settings):
    client, _ = await _client(make_client, settings)
    await client.get("/api/probe/shared/a")
    for headers in (principal_header("u1"), {"Authorization": "Bearer nonsense"}, {"Cookie": "x=y"}):
        r = await client.get("/api/probe/shared/a", headers=headers)
        assert r.headers.get("X-Full-Path") == "1", headers
    signed_in = await client.get("/api/probe/shared/a", headers=principal_header("u1"))
    assert signed_in.status == 200 and signed_in.headers["Cache-Control"] == "private, no-store"


async def test_a_private_answer_is_never_served_to_anonymous_or_another_user(make_client, settings):
    client, _ = await _client(make_client, settings)
    alice, bob = principal_header("alice"), principal_header("bob")
    # Alice first, then everyone else: each gets their own answer, warm or not, REST and GraphQL.
    for _ in range(2):
        assert (await (await client.get("/api/probe/mine/x", headers=alice)).json())["text"] == "x for alice"
        assert (await (await client.get("/api/probe/mine/x")).json())["text"] == "x for anonymous"
        assert (await (await client.get("/api/probe/mine/x", headers=bob)).json())["text"] == "x for bob"
        r = await client.post("/graphql", json=_gql("probeMine", "x"), headers=alice)
        assert (await r.json())["data"]["probeMine"]["text"] == "x for alice"
        r = await client.post("/graphql", json=_gql("probeMine", "x"))
        assert (await r.json())["data"]["probeMine"]["text"] == "x for anonymous"
        r = await client.post("/graphql", json=_gql("probeMine", "x"), headers=bob)
        assert (await r.json())["data"]["probeMine"]["text"] == "x for bob"
    # Nothing per caller is kept whole, so none of it answers from the short path.
    assert (await client.get("/api/probe/mine/x")).headers.get("X-Full-Path") == "1"
    assert (await client.post("/graphql", json=_gql("probeMine", "x"))).headers.get("X-Full-Path") == "1"


async def test_an_anonymous_answer_is_never_served_to_a_signed_in_user(make_client, settings):
    client, _ = await _client(make_client, settings)
    # Anonymous first (warming every cache there is), then the users.
    for _ in range(3):
        assert (await (await client.get("/api/probe/mine/y")).json())["text"] == "y for anonymous"
        r = await client.post("/graphql", json=_gql("probeMine", "y"))
        assert (await r.json())["data"]["probeMine"]["text"] == "y for anonymous"
    r = await client.get("/api/probe/mine/y", headers=principal_header("carol"))
    assert (await r.json())["text"] == "y for carol"
    r = await client.post("/graphql", json=_gql("probeMine", "y"), headers=principal_header("dave"))
    assert (await r.json())["data"]["probeMine"]["text"] == "y for dave"


async def test_graphql_short_path_answers_a_cached_document_and_a_write_invalidates_it(make_client, settings):
    client, probe = await _client(make_client, settings)
    q = _gql("probeShared", "g")
    first = await client.post("/graphql", json=q)
    assert first.headers["X-Full-Path"] == "1" and (await first.json())["data"]["probeShared"]["version"] == 0
    second = await client.post("/graphql", json=q)
    assert second.headers["X-Cache"] == "local" and "X-Full-Path" not in second.headers
    assert await second.read() == await first.read()
    rest = await client.get("/api/probe/shared/g")
    await client.get("/api/probe/shared/g")
    bumped = await client.post("/api/probe/bump", json={"name": "g"}, headers=principal_header("admin1"))
    assert bumped.status == 200
    after = await client.post("/graphql", json=q)
    assert after.headers.get("X-Full-Path") == "1" and (await after.json())["data"]["probeShared"]["version"] == 1
    rest = await client.get("/api/probe/shared/g")
    assert rest.headers.get("X-Full-Path") == "1" and (await rest.json())["version"] == 1
    assert probe.servicer is not None


async def test_the_short_path_counts_against_the_rate_limit(make_client, settings):
    client, _ = await _client(make_client, settings, limit=3)
    statuses = [(await client.get("/api/probe/shared/r")).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = await client.get("/api/probe/shared/r")
    assert r.status == 429 and int(r.headers["Retry-After"]) >= 1 and r.headers["RateLimit-Remaining"] == "0"
    body = await r.json()
    assert body["code"] == "RESOURCE_EXHAUSTED"


async def test_an_authenticator_that_does_not_declare_its_headers_turns_the_short_path_off(make_client, settings):
    client, _ = await _client(make_client, settings, UndeclaredIdentity())
    await client.get("/api/probe/shared/u")
    anonymous = await client.get("/api/probe/shared/u")
    assert anonymous.headers.get("X-Full-Path") == "1"
    # Its header is a credential the kernel could not have known about.
    r = await client.get("/api/probe/mine/u", headers={"X-Secret-Identity": "eve"})
    assert (await r.json())["text"] == "u for eve" and r.headers["Cache-Control"] == "private, no-store"
