"""GraphQL: schema.graphql's root fields, bound to the bus methods the contract names (rpc(graphql=...))."""

from __future__ import annotations

from typing import Any

from kernel.core.status import BusError, Status
from kernel.web.graphql import GraphQLPart, bus_field, sdl_beside

from .contract import Users


def part() -> GraphQLPart:
    get_me = bus_field(Users.get_me)

    async def me(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
        try:
            return await get_me(parent, args, gctx, info)
        except BusError as exc:
            if exc.status is Status.UNAUTHENTICATED:
                return None  # `me` is nullable: anonymous callers get null, not an error
            raise

    return GraphQLPart(sdl=sdl_beside(__file__), services=(Users,), resolvers={"Query.me": me},
                       fields={"Query.me": Users.get_me})
