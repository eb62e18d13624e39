"""Webhooks plugin: endpoints subscribed to event types, Standard Webhooks signatures, retries, delivery log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from kernel.core.events import Subscription
from kernel.host.hookspecs import contribution, hookimpl
from kernel.host.plugin import PluginContext, PluginInfo

from .config import WebhooksConfig, effective
from .contract import Webhooks
from .delivery import DeliveryWorker, WebhookMetrics


def state(ctx: PluginContext) -> DeliveryWorker:
    """One delivery worker per app (the plugin's state slot, no module globals)."""
    return ctx.state(DeliveryWorker, lambda: DeliveryWorker(ctx.db, effective(ctx.config),
                                                             WebhookMetrics(ctx.runtime.metrics.registry)))


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="webhooks", version="0.2.0", config=WebhooksConfig,
                      description="signed webhooks (Standard Webhooks) for order, product and stock events")


shop_tables = contribution(__name__, ".tables:TABLES")


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


shop_graphql = contribution(__name__, ".graphql:part()")
shop_cli = contribution(__name__, ".cli:commands()")


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Any:
    worker = state(ctx)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        if ctx.settings.outbox_worker:  # serving processes send; one-off CLI commands do not
            await worker.start()
        yield
        await worker.stop()

    return lifespan
