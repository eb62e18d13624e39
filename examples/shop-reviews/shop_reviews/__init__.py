"""Reviews: an example third-party plugin for shopkernel.

Buyers rate and review products. It adds a table, a bus service, REST routes,
fields on the catalog's GraphQL ``Product`` type, its own OAuth scope
(``reviews:write``), a handler for the orders plugin's cancel event and a CLI
command, and depends on catalog and orders only through their ``contract.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.core.events import Subscription
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import Command, PluginContext, PluginInfo
from kernel.host.storefront import StorefrontModule, StorefrontPart
from kernel.web.graphql import GraphQLPart
from plugins.orders.contract import OrderCancelled, OrderRefunded

from .contract import SCOPES, Reviews

__version__ = "1.0.0"

# An absolute path: the kernel reads it as is instead of looking under the shop's migrations/.
MIGRATIONS = str(Path(__file__).parent / "migrations")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="reviews", version=__version__, description="product reviews by buyers",
                      requires=("catalog", "orders"), migrations=MIGRATIONS, scopes=SCOPES)


@hookimpl
def shop_tables(ctx: PluginContext) -> list[Any]:
    from .tables import TABLES

    return list(TABLES)


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import ReviewsServicer

    return [(Reviews, ReviewsServicer(ctx))]


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    from .graphql import part

    return part()


@hookimpl
def shop_event_handlers(ctx: PluginContext) -> list[Subscription]:
    from .service import ReviewsServicer

    servicer = ReviewsServicer(ctx)  # stateless: everything lives in the database
    # Not broadcast: a cancellation is handled once, on the instance where the order was cancelled.
    return [Subscription(OrderCancelled, servicer.on_order_cancelled),
            Subscription(OrderRefunded, servicer.on_order_refunded)]


@hookimpl
def shop_cli(ctx: PluginContext) -> list[Command]:
    from .cli import commands

    return commands()


@hookimpl
def shop_storefront(ctx: PluginContext) -> StorefrontPart:
    # The rating, reviews and review form on the product page (served from this package's data).
    return StorefrontPart(Path(__file__).parent / "storefront", (StorefrontModule("product.details", "reviews.js"),))
