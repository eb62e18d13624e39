"""Shipping plugin: saved addresses, shipping zones and methods priced per currency, tax rates, order quotes."""

from __future__ import annotations

from typing import Any

from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart
from kernel.web.rest import Route

from .contract import SCOPES, Shipping


@hookimpl
def shop_plugin() -> PluginInfo:
    # No `requires`: orders uses shipping (optionally), never the reverse.
    return PluginInfo(name="shipping", version="0.1.0", description="addresses, shipping methods, tax",
                      scopes=SCOPES)


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import ShippingServicer

    return [(Shipping, ShippingServicer(ctx))]


@hookimpl
def shop_routes(ctx: PluginContext) -> list[Route]:
    from .rest import routes

    return routes()


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    from .graphql import part

    return part()


@hookimpl
def shop_seed_demo(ctx: PluginContext) -> Any:
    from .seed import seed_demo

    return seed_demo
