"""GraphQL: schema.graphql's root fields, bound to the bus methods the contract names (rpc(graphql=...)).

A variant's options ({name: value} on the bus) travel as [{name, value}] pairs.
"""

from __future__ import annotations

from kernel.web.graphql import GraphQLPart, bus_field, object_as_pairs, pairs_as_object, sdl_beside

from .contract import Catalog, CatalogMedia

options_in = pairs_as_object("options")


def part() -> GraphQLPart:
    return GraphQLPart(
        sdl=sdl_beside(__file__),
        services=(Catalog, CatalogMedia),
        resolvers={
            "Mutation.createVariant": bus_field(Catalog.create_variant, args=options_in),
            "Mutation.updateVariant": bus_field(Catalog.update_variant, args=options_in),
            "Variant.options": object_as_pairs("options"),
        },
    )
