"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path

from kernel.graphql import GraphQLPart, bus_field

from .contract import Catalog, CatalogMedia

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def part() -> GraphQLPart:
    c = Catalog
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.categories": bus_field(c.list_categories),
            "Query.products": bus_field(c.list_products),
            "Query.product": bus_field(c.get_product, null_if_not_found=True),
            "Mutation.createCategory": bus_field(c.create_category),
            "Mutation.updateCategory": bus_field(c.update_category),
            "Mutation.deleteCategory": bus_field(c.delete_category),
            "Mutation.createProduct": bus_field(c.create_product),
            "Mutation.updateProduct": bus_field(c.update_product),
            "Mutation.deleteProduct": bus_field(c.delete_product),
            "Mutation.setPrice": bus_field(c.set_price),
            "Mutation.setStock": bus_field(c.set_stock),
            "Mutation.adjustStock": bus_field(c.adjust_stock),
            "Mutation.deleteImage": bus_field(CatalogMedia.delete_image),
        },
    )
