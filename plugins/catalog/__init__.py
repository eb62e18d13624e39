"""Catalog plugin: categories, products, full-text search, stock, admin management, demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kernel.host.hookspecs import contribution, hookimpl
from kernel.host.plugin import PluginContext, PluginInfo

from .contract import SCOPES, Catalog, CatalogMedia, ProductChanged

if TYPE_CHECKING:
    from .media import MediaServicer


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="catalog", version="0.1.0", description="categories, products, search, stock",
                      events=(ProductChanged,), scopes=SCOPES)


shop_tables = contribution(__name__, ".tables:TABLES")
shop_graphql = contribution(__name__, ".graphql:part()")
shop_seed_demo = contribution(__name__, ".seed:seed_demo")


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .media import MediaServicer
    from .media_store import PostgresMediaStore
    from .service import CatalogServicer

    servicer = CatalogServicer(ctx)
    media = ctx.state(MediaServicer, lambda: MediaServicer(servicer, PostgresMediaStore(ctx.db)))
    return [(Catalog, servicer), (CatalogMedia, media)]


def _media(ctx: PluginContext) -> MediaServicer:
    from .media import MediaServicer

    return ctx.made(MediaServicer)  # made by shop_services, which runs first


@hookimpl
def shop_web_routes(ctx: PluginContext) -> list[Any]:
    # Image files are bytes, not JSON: a plain route (see media.py).
    return [web.get("/media/{key}", _media(ctx).serve)]


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Callable[[web.Application], AsyncIterator[None]]:
    media = _media(ctx)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        yield
        media.close()

    return lifespan
