"""A test-only plugin that uses every contribution hook (not shipped).

It greets people: a table of greetings, a bus service, a REST route, a GraphQL
field, an event its own handler counts, and a CLI command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from piccolo.columns import Integer, Varchar
from piccolo.table import Table

from kernel.core.context import CallContext
from kernel.core.events import Event, Subscription
from kernel.core.messages import constraint, message
from kernel.core.service import CachePolicy, Http, Service, rpc
from kernel.core.status import BusError, Status
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import Command, PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart, bus_field
from kernel.web.rest import Route

MIGRATIONS = Path(__file__).parent / "hello_migrations"


class Greeting(Table, tablename="hello_greeting"):
    name = Varchar(length=100, unique=True)
    count = Integer(default=0)


@message
class Greet:
    name: str = constraint(min_len=1, max_len=100)
    times: int = constraint(default=1, min=1, max=10)


@message
class Greeted:
    text: str
    count: int


@message
class GetCount:
    name: str


@message
class Slow:
    seconds: int = constraint(min=0, max=5)


@message
class Empty:
    pass


@message
class Boom:
    code: str = constraint(max_len=40)


@message
class HelloSaid(Event, topic="hello.said"):
    name: str


class Hello(Service, package="test.hello.v1"):
    # Two routes declared on the contract (served with the service), the others by shop_routes.
    greet = rpc(Greet, Greeted, write=True, rate_limit="hello", idempotent=True,
                rest=Http("POST /api/hello", "Greet someone"))
    get_count = rpc(GetCount, Greeted, cache=CachePolicy(key=lambda r: f"hello:v1:{r.name}", ttl=120,
                                                          tags=lambda r: ("hello:v1",)),
                    rest=Http("GET /api/hello/{name}", "How often someone was greeted"))
    secret = rpc(Empty, Greeted, scope="admin")
    slow = rpc(Slow, Greeted, deadline=0.2)
    fail = rpc(GetCount, Greeted)
    boom = rpc(Boom, Greeted)


class HelloServicer:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.seen: list[str] = []
        self.fills = 0

    async def greet(self, req: Greet, ctx: CallContext) -> Greeted:
        db = self.ctx.db
        async with db.transaction():
            row = await db.fetchrow(
                "INSERT INTO hello_greeting (name, count) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET count = hello_greeting.count + $2 RETURNING count",
                req.name, req.times)
            await self.ctx.bus.publish(HelloSaid(name=req.name))
            if req.name == "rollback":
                raise BusError(Status.ABORTED, "rolled back on purpose")
        await self.ctx.runtime.cache.invalidate([f"hello:v1:{req.name}"])
        return Greeted(text=f"hello {req.name}", count=row["count"])

    async def get_count(self, req: GetCount, ctx: CallContext) -> Greeted:
        self.fills += 1
        count = await self.ctx.db.fetchval("SELECT count FROM hello_greeting WHERE name = $1", req.name)
        if count is None:
            raise BusError(Status.NOT_FOUND, f"nobody called {req.name} was greeted")
        return Greeted(text=f"hello {req.name}", count=count)

    async def secret(self, req: Empty, ctx: CallContext) -> Greeted:
        return Greeted(text="secret", count=0)

    async def slow(self, req: Slow, ctx: CallContext) -> Greeted:
        import asyncio

        await asyncio.sleep(req.seconds)
        return Greeted(text="slow", count=req.seconds)

    async def boom(self, req: Boom, ctx: CallContext) -> Greeted:
        raise BusError(Status[req.code], f"boom {req.code}", reason="BOOM" if req.code == "FAILED_PRECONDITION" else None)

    async def fail(self, req: GetCount, ctx: CallContext) -> Greeted:
        raise RuntimeError("internal detail that must not leak: password=hunter2")


STATE: dict[str, Any] = {}


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="hello", version="0.0.1", description="test plugin", migrations=str(MIGRATIONS),
                      events=(HelloSaid,))


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    return [Greeting]


@hookimpl
def shop_services(ctx: PluginContext) -> list[Any]:
    servicer = HelloServicer(ctx)
    ctx.runtime.extras_hello = servicer
    return [(Hello, servicer)]


@hookimpl
def shop_routes(ctx: PluginContext) -> list[Route]:
    return [
        Route("GET", "/api/hello-secret", Hello.secret),
        Route("GET", "/api/hello-slow", Hello.slow),
        Route("GET", "/api/hello-fail", Hello.fail, aliases={"who": "name"}),
        Route("GET", "/api/hello-boom", Hello.boom),
    ]


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    return GraphQLPart(
        sdl="""
        extend type Query { helloCount(name: String!): Greeted, helloBoom(code: String!): Greeted, helloFail: Greeted }
        extend type Mutation { greet(name: String!, times: Int, idempotencyKey: String): Greeted! }
        """,
        resolvers={"Query.helloCount": bus_field(Hello.get_count), "Mutation.greet": bus_field(Hello.greet),
                   "Query.helloBoom": bus_field(Hello.boom),
                   "Query.helloFail": bus_field(Hello.fail, args=lambda a, p: {"name": "x"})},
    )


@hookimpl
def shop_event_handlers(ctx: PluginContext) -> list[Subscription]:
    received: list[str] = []
    ctx.runtime.extras_hello_events = received

    async def on_said(event: HelloSaid) -> None:
        received.append(event.name)

    return [Subscription(HelloSaid, on_said, broadcast=True)]


@hookimpl
def shop_cli(ctx: PluginContext) -> list[Command]:
    async def run(args: argparse.Namespace, rt: Any) -> int:
        reply = await rt.bus.call(Hello.greet, Greet(name=args.name), CallContext())
        print(f"{reply.text} ({reply.count})")
        return 0

    return [Command(("hello", "greet"), "greet someone from the CLI",
                    lambda p: p.add_argument("name"), run)]
