"""Orders plugin: per-user carts, checkout by wallet or card in one transaction, order history, cancellation,
fulfilment and refunds (uses the shipping plugin for addresses, shipping and tax when it is enabled)."""

from __future__ import annotations

from typing import Any

from kernel.graphql import GraphQLPart
from kernel.hookspecs import hookimpl
from kernel.plugin import PluginContext, PluginInfo
from kernel.rest import Route

from .config import OrdersConfig
from .contract import SCOPES, OrderCancelled, OrderFulfilled, OrderPlaced, OrderRefunded, Orders


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="orders", version="0.1.0", description="cart, checkout, orders",
                      requires=("catalog", "wallet", "payments"),
                      events=(OrderPlaced, OrderCancelled, OrderFulfilled, OrderRefunded),
                      scopes=SCOPES, config=OrdersConfig)


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import OrdersServicer

    return [(Orders, OrdersServicer(ctx))]


@hookimpl
def shop_routes(ctx: PluginContext) -> list[Route]:
    from .rest import routes

    return routes()


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    from .graphql import part

    return part()


def _guests(ctx: PluginContext) -> Any:
    from .guest_session import GuestSessions

    return GuestSessions(ctx)


@hookimpl
def shop_authenticators(ctx: PluginContext) -> list[Any]:
    # After every other plugin's (auth's load first): a guest only when nobody else is signed in.
    return [_guests(ctx).authenticate]


@hookimpl
def shop_middlewares(ctx: PluginContext) -> list[Any]:
    return [_guests(ctx).middleware()]


@hookimpl
def shop_web_routes(ctx: PluginContext) -> list[Any]:
    from aiohttp import web

    return [web.post("/api/guest-session", _guests(ctx).start)]
