"""Webhooks plugin: endpoints subscribed to event types, Standard Webhooks signatures, retries, delivery log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from kernel.core.events import Subscription
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import Command, PluginContext, PluginInfo
from kernel.web.graphql import GraphQLPart
from kernel.web.rest import Route

from .config import WebhooksConfig, effective
from .contract import Webhooks
from .delivery import DeliveryWorker, WebhookMetrics


def state(ctx: PluginContext) -> DeliveryWorker:
    """One delivery worker per app, kept on the runtime (no module globals)."""
    rt = ctx.runtime
    worker: DeliveryWorker | None = getattr(rt, "webhooks_worker", None)
    if worker is None:
        worker = DeliveryWorker(ctx.db, effective(ctx.config), WebhookMetrics(rt.metrics.registry))
        rt.webhooks_worker = worker
    return worker


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="webhooks", version="0.2.0", config=WebhooksConfig,
                      description="signed webhooks (Standard Webhooks) for order, product and stock events")


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import WebhooksServicer

    worker = state(ctx)
    return [(Webhooks, WebhooksServicer(ctx, worker.cfg, worker))]


@hookimpl
def shop_event_handlers(ctx: PluginContext) -> list[Subscription]:
    from .fanout import subscriptions

    worker = state(ctx)
    return subscriptions(ctx, worker.cfg, worker.wake)


@hookimpl
def shop_routes(ctx: PluginContext) -> list[Route]:
    from .rest import routes

    return routes()


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    from .graphql import part

    return part()


@hookimpl
def shop_cli(ctx: PluginContext) -> list[Command]:
    from .cli import commands

    return commands()


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Any:
    worker = state(ctx)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        if ctx.settings.outbox_worker:  # serving processes send; one-off CLI commands do not
            await worker.start()
        yield
        await worker.stop()

    return lifespan
