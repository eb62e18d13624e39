"""Payments plugin: payment intents confirmed with client-side tokens, through provider plugins.

Providers come from the ``shop_payment_providers`` hook (the test provider is
plugins/testpay). A lifespan task expires unpaid intents. See docs/payments.md.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from kernel.host.hookspecs import contribution, hookimpl, periodic
from kernel.host.loader import call_each
from kernel.host.plugin import PluginContext, PluginError, PluginInfo

from .config import PaymentsConfig
from .contract import SCOPES, Payments

log = logging.getLogger("shop.plugins.payments")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="payments", version="0.2.0", description="payment intents through provider plugins",
                      config=PaymentsConfig, scopes=SCOPES)


shop_tables = contribution(__name__, ".tables:TABLES")


def collect_providers(ctx: PluginContext) -> dict[str, Any]:
    """Every provider the enabled plugins add, by name (a duplicate name is a startup error)."""
    rt = ctx.runtime

    def make_ctx(lp: Any) -> PluginContext:
        return PluginContext(name=lp.info.name, settings=ctx.settings, config=lp.config, runtime=rt,
                             log=logging.getLogger(f"shop.plugins.{lp.info.name}"))

    found: dict[str, Any] = {}
    for lp, providers in call_each(rt.pm, rt.plugins, "shop_payment_providers", make_ctx):
        for p in providers:
            name = getattr(p, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {lp.info.name!r}: a payment provider needs a non-empty `name`")
            if name in found:
                raise PluginError(f"plugin {lp.info.name!r} adds payment provider {name!r}, already added")
            found[name] = p
    return found


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import PaymentsServicer

    providers = collect_providers(ctx)
    if ctx.config.provider not in providers:
        raise PluginError(f"[plugins.payments] provider = {ctx.config.provider!r}, but no enabled plugin adds it "
                          f"(added: {', '.join(sorted(providers)) or 'none'}; the test provider is plugin 'testpay')")
    servicer = ctx.state(PaymentsServicer, lambda: PaymentsServicer(ctx, ctx.config, providers))
    return [(Payments, servicer)]


shop_graphql = contribution(__name__, ".graphql:part()")


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Callable[[web.Application], AsyncIterator[None]]:
    async def expire() -> None:
        from .service import PaymentsServicer

        servicer = ctx.made(PaymentsServicer)  # made by shop_services
        while await servicer.expire_due() == 100:  # a full batch: more may be due
            pass
        while await servicer.finish_pending_refunds() == 100:
            pass

    return periodic("payments_expiry", ctx.config.expiry_every_ms / 1000, expire, log)
