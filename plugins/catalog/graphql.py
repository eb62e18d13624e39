"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.graphql import GraphQLPart, ResolverFn, bus_field
from kernel.status import BusError, Status

from .contract import Catalog

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def _null_when_not_found(inner: ResolverFn) -> ResolverFn:
    """``product(slug)`` is nullable: an unknown slug is null, not an error."""

    async def resolve(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
        try:
            return await inner(parent, args, gctx, info)
        except BusError as exc:
            if exc.status is Status.NOT_FOUND:
                return None
            raise

    resolve.bus_method = inner.bus_method
    return resolve


async def _page_items(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
    """tartiflette's default resolver tries getattr() first, and a dict's ``items`` is its method."""
    return parent["items"]


def part() -> GraphQLPart:
    c = Catalog
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.categories": bus_field(c.list_categories),
            "Query.products": bus_field(c.list_products),
            "Query.product": _null_when_not_found(bus_field(c.get_product)),
            "ProductPage.items": _page_items,
            "Mutation.createCategory": bus_field(c.create_category),
            "Mutation.updateCategory": bus_field(c.update_category),
            "Mutation.deleteCategory": bus_field(c.delete_category),
            "Mutation.createProduct": bus_field(c.create_product),
            "Mutation.updateProduct": bus_field(c.update_product),
            "Mutation.deleteProduct": bus_field(c.delete_product),
            "Mutation.setPrice": bus_field(c.set_price),
            "Mutation.setStock": bus_field(c.set_stock),
            "Mutation.adjustStock": bus_field(c.adjust_stock),
        },
    )
