"""GraphQL: schema.graphql's root fields, bound to the bus methods the contract names (rpc(graphql=...))."""

from kernel.web.graphql import GraphQLPart, sdl_beside

from .contract import Payments


def part() -> GraphQLPart:
    return GraphQLPart(sdl=sdl_beside(__file__), services=(Payments,))
