"""Shipping plugin: saved addresses, shipping zones and methods priced per currency, tax rates, order quotes."""

from __future__ import annotations

from typing import Any

from kernel.host.hookspecs import contribution, hookimpl
from kernel.host.plugin import PluginContext, PluginInfo

from .contract import SCOPES, Shipping


@hookimpl
def shop_plugin() -> PluginInfo:
    # No `requires`: orders uses shipping (optionally), never the reverse.
    return PluginInfo(name="shipping", version="0.1.0", description="addresses, shipping methods, tax",
                      scopes=SCOPES)


shop_tables = contribution(__name__, ".tables:TABLES")


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import ShippingServicer

    return [(Shipping, ShippingServicer(ctx))]


shop_graphql = contribution(__name__, ".graphql:part()")
shop_seed_demo = contribution(__name__, ".seed:seed_demo")
