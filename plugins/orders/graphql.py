"""GraphQL: schema.graphql's root fields, bound to the bus methods the contract names (rpc(graphql=...)).

A line's options ({name: value} on the bus) are served as catalog's OptionValue pairs.
"""

from __future__ import annotations

from kernel.web.graphql import GraphQLPart, object_as_pairs, sdl_beside

from .contract import Orders


def part() -> GraphQLPart:
    return GraphQLPart(sdl=sdl_beside(__file__), services=(Orders,),
                       resolvers={"CartLine.options": object_as_pairs("options"),
                                  "OrderItem.options": object_as_pairs("options")})
