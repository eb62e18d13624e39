"""Orders plugin: per-user carts, checkout by wallet or card in one transaction, order history, cancellation,
fulfilment and refunds (uses the shipping plugin for addresses, shipping and tax when it is enabled)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kernel.host.hookspecs import contribution, hookimpl, periodic
from kernel.host.plugin import PluginContext, PluginInfo

from .config import OrdersConfig
from .contract import SCOPES, OrderCancelled, OrderCreated, OrderFulfilled, OrderPlaced, OrderRefunded, Orders

if TYPE_CHECKING:
    from .guest_session import GuestSessions

log = logging.getLogger("shop.plugins.orders")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="orders", version="0.1.0", description="cart, checkout, orders",
                      requires=("catalog", "wallet", "payments"),
                      events=(OrderCreated, OrderPlaced, OrderCancelled, OrderFulfilled, OrderRefunded),
                      scopes=SCOPES, config=OrdersConfig)


shop_tables = contribution(__name__, ".tables:TABLES")


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import OrdersServicer

    servicer = ctx.state(OrdersServicer, lambda: OrdersServicer(ctx))
    return [(Orders, servicer)]


shop_graphql = contribution(__name__, ".graphql:part()")


def _guests(ctx: PluginContext) -> GuestSessions:
    from .guest_session import GuestSessions

    return ctx.state(GuestSessions, lambda: GuestSessions(ctx))  # one for the three hooks that use it


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


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Callable[[web.Application], AsyncIterator[None]]:
    async def recover() -> None:
        from .service import OrdersServicer

        servicer = ctx.made(OrdersServicer)  # made by shop_services
        while await servicer.admin.finish_pending_refunds() == 100:  # a full batch: more may be due
            pass
        while await servicer.flow.finish_interrupted_cancellations() == 100:
            pass

    every = (ctx.config or OrdersConfig()).recovery_every_ms / 1000
    return periodic("orders_recovery", every, recover, log)
