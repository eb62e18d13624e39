"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path

from kernel.graphql import GraphQLPart, bus_field

from .contract import Orders

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def part() -> GraphQLPart:
    o = Orders
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.cart": bus_field(o.get_cart),
            "Query.order": bus_field(o.get_order, null_if_not_found=True),
            "Query.orders": bus_field(o.list_orders),
            "Query.allOrders": bus_field(o.list_all_orders),
            "Mutation.addToCart": bus_field(o.add_to_cart),
            "Mutation.setCartItem": bus_field(o.set_cart_item),
            "Mutation.removeCartItem": bus_field(o.remove_cart_item),
            "Mutation.checkout": bus_field(o.checkout),
            "Mutation.checkoutWithCard": bus_field(o.checkout),
            "Mutation.cancelOrder": bus_field(o.cancel_order),
        },
    )
