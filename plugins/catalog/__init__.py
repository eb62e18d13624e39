"""Catalog plugin: categories, products, full-text search, stock, admin management, demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart
from kernel.web.rest import Route

from .contract import SCOPES, Catalog, CatalogMedia, ProductChanged

# The media servicer of each runtime (by id: shop_services runs first for every new app and sets it),
# for its web route and lifespan; several apps may share a process (tests, two instances).
_MEDIA: dict[int, Any] = {}


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
    from .media import MediaServicer
    from .media_store import PostgresMediaStore
    from .service import CatalogServicer

    servicer = CatalogServicer(ctx)
    media = _MEDIA[id(ctx.runtime)] = MediaServicer(servicer, PostgresMediaStore(ctx.db))
    return [(Catalog, servicer), (CatalogMedia, media)]


@hookimpl
def shop_web_routes(ctx: PluginContext) -> list[Any]:
    # Image files are bytes, not JSON: a plain route (see media.py).
    return [web.get("/media/{key}", _MEDIA[id(ctx.runtime)].serve)]


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Callable[[web.Application], AsyncIterator[None]]:
    media = _MEDIA[id(ctx.runtime)]

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        yield
        media.close()
        if _MEDIA.get(id(ctx.runtime)) is media:
            del _MEDIA[id(ctx.runtime)]

    return lifespan


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
