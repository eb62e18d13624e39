"""Orders plugin: per-user carts, checkout by wallet or card in one transaction, order history, cancellation,
fulfilment and refunds (uses the shipping plugin for addresses, shipping and tax when it is enabled)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart
from kernel.web.rest import Route

from .config import OrdersConfig
from .contract import SCOPES, OrderCancelled, OrderCreated, OrderFulfilled, OrderPlaced, OrderRefunded, Orders

log = logging.getLogger("shop.plugins.orders")
# The servicer of each runtime (tests run several apps in one process), for the lifespan task.
_SERVICERS: dict[int, Any] = {}


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="orders", version="0.1.0", description="cart, checkout, orders",
                      requires=("catalog", "wallet", "payments"),
                      events=(OrderCreated, OrderPlaced, OrderCancelled, OrderFulfilled, OrderRefunded),
                      scopes=SCOPES, config=OrdersConfig)


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import OrdersServicer

    servicer = OrdersServicer(ctx)
    _SERVICERS[id(ctx.runtime)] = servicer
    return [(Orders, servicer)]


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


async def _recover_every(servicer: Any, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            while await servicer.admin.finish_pending_refunds() == 100:  # a full batch: more may be due
                pass
            while await servicer.flow.finish_interrupted_cancellations() == 100:
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("orders_recovery_failed")


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Any:
    async def lifespan(app: Any) -> AsyncIterator[None]:
        servicer = _SERVICERS[id(ctx.runtime)]
        every = (ctx.config or OrdersConfig()).recovery_every_ms / 1000
        task = asyncio.create_task(_recover_every(servicer, every), name="orders-recovery")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        _SERVICERS.pop(id(ctx.runtime), None)

    return lifespan
