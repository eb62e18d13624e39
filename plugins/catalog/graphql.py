"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.web.graphql import GraphQLPart, bus_field, pure

from .contract import Catalog, CatalogMedia

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def options_in(arguments: dict[str, Any], parent: Any) -> dict[str, Any]:
    """GraphQL's [{name, value}] list to the REST/bus options object (a name given twice is refused)."""
    pairs = arguments.get("options")
    if pairs is not None:
        out: dict[str, Any] = {}
        for pair in pairs:
            # A repeated name would be lost in the object: keep it visible as an invalid value.
            out[pair["name"]] = pair["value"] if pair["name"] not in out else None
        arguments["options"] = out
    return arguments


@pure
async def variant_options(parent: Any, args: dict[str, Any], ctx: Any, info: Any) -> list[dict[str, str]]:
    """The bus's {name: value} object as GraphQL's list of pairs."""
    return [{"name": k, "value": v} for k, v in (parent.get("options") or {}).items()]


def part() -> GraphQLPart:
    c = Catalog
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.categories": bus_field(c.list_categories),
            "Query.products": bus_field(c.list_products),
            "Query.product": bus_field(c.get_product, null_if_not_found=True),
            "Query.lowStock": bus_field(c.list_low_stock),
            "Mutation.createCategory": bus_field(c.create_category),
            "Mutation.updateCategory": bus_field(c.update_category),
            "Mutation.deleteCategory": bus_field(c.delete_category),
            "Mutation.createProduct": bus_field(c.create_product),
            "Mutation.updateProduct": bus_field(c.update_product),
            "Mutation.deleteProduct": bus_field(c.delete_product),
            "Mutation.setPrice": bus_field(c.set_price),
            "Mutation.setStock": bus_field(c.set_stock),
            "Mutation.adjustStock": bus_field(c.adjust_stock),
            "Mutation.createVariant": bus_field(c.create_variant, args=options_in),
            "Mutation.updateVariant": bus_field(c.update_variant, args=options_in),
            "Mutation.deleteVariant": bus_field(c.delete_variant),
            "Mutation.setVariantPrice": bus_field(c.set_variant_price),
            "Mutation.setVariantStock": bus_field(c.set_variant_stock),
            "Variant.options": variant_options,
            "Mutation.deleteImage": bus_field(CatalogMedia.delete_image),
        },
    )
