"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.graphql import GraphQLPart, bus_field, pure

from .contract import Orders

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


@pure
async def variant_options(parent: Any, args: dict[str, Any], ctx: Any, info: Any) -> list[dict[str, str]]:
    """A line's {name: value} options as GraphQL's list of OptionValue pairs (the type is catalog's)."""
    return [{"name": k, "value": v} for k, v in (parent.get("options") or {}).items()]


def part() -> GraphQLPart:
    o = Orders
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.cart": bus_field(o.get_cart),
            "Query.order": bus_field(o.get_order, null_if_not_found=True),
            "Query.orders": bus_field(o.list_orders),
            "Query.allOrders": bus_field(o.list_all_orders),
            "Query.salesReport": bus_field(o.get_sales_report),
            "Mutation.addToCart": bus_field(o.add_to_cart),
            "Mutation.setCartItem": bus_field(o.set_cart_item),
            "Mutation.removeCartItem": bus_field(o.remove_cart_item),
            "Mutation.setCartVariant": bus_field(o.set_cart_variant),
            "Mutation.removeCartVariant": bus_field(o.remove_cart_variant),
            "CartLine.options": variant_options,
            "OrderItem.options": variant_options,
            "Mutation.checkout": bus_field(o.checkout),
            "Query.checkoutQuote": bus_field(o.quote_checkout),
            "Mutation.checkoutWithCard": bus_field(o.checkout),
            "Mutation.checkoutByCard": bus_field(o.checkout),
            "Mutation.cancelOrder": bus_field(o.cancel_order),
            "Query.adminOrders": bus_field(o.list_all_orders),
            "Query.adminOrder": bus_field(o.admin_get_order, null_if_not_found=True),
            "Query.guestOrder": bus_field(o.get_guest_order, null_if_not_found=True),
            "Query.customers": bus_field(o.list_customers),
            "Mutation.fulfilOrder": bus_field(o.fulfil_order),
            "Mutation.refundOrder": bus_field(o.refund_order),
        },
    )
