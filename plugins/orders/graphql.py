"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.graphql import GraphQLPart, ResolverFn, bus_field
from kernel.status import BusError, Status

from .contract import Orders

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def _null_when_not_found(inner: ResolverFn) -> ResolverFn:
    """``order(id)`` is nullable: an unknown (or another user's) id is null, not an error."""

    async def resolve(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
        try:
            return await inner(parent, args, gctx, info)
        except BusError as exc:
            if exc.status is Status.NOT_FOUND:
                return None
            raise

    resolve.bus_method = inner.bus_method  # type: ignore[attr-defined]
    return resolve


async def _items(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
    """tartiflette's default resolver tries getattr() first, and a dict's ``items`` is its method."""
    return parent["items"]


def part() -> GraphQLPart:
    o = Orders
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.cart": bus_field(o.get_cart),
            "Query.order": _null_when_not_found(bus_field(o.get_order)),
            "Query.orders": bus_field(o.list_orders),
            "Query.allOrders": bus_field(o.list_all_orders),
            "Mutation.addToCart": bus_field(o.add_to_cart),
            "Mutation.setCartItem": bus_field(o.set_cart_item),
            "Mutation.removeCartItem": bus_field(o.remove_cart_item),
            "Mutation.checkout": bus_field(o.checkout),
            "Mutation.checkoutWithCard": bus_field(o.checkout),
            "Mutation.cancelOrder": bus_field(o.cancel_order),
            "Cart.items": _items,
            "Order.items": _items,
            "OrderPage.items": _items,
        },
    )
