"""Catalog plugin: categories, products, full-text search, stock, admin management, demo data."""

from __future__ import annotations

from typing import Any

from kernel.graphql import GraphQLPart
from kernel.hookspecs import hookimpl
from kernel.plugin import PluginContext, PluginInfo
from kernel.rest import Route

from .contract import SCOPES, Catalog, ProductChanged


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="catalog", version="0.1.0", description="categories, products, search, stock",
                      events=(ProductChanged,), scopes=SCOPES)


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import CatalogServicer

    servicer = CatalogServicer(ctx)
    return [(Catalog, servicer)]


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
