"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.graphql import GraphQLPart, bus_field
from kernel.status import BusError, Status

from .contract import Users

SDL = (Path(__file__).parent / "schema.graphql").read_text()


def part() -> GraphQLPart:
    get_me = bus_field(Users.get_me)

    async def me(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
        try:
            return await get_me(parent, args, gctx, info)
        except BusError as exc:
            if exc.status is Status.UNAUTHENTICATED:
                return None  # `me` is nullable: anonymous callers get null, not an error
            raise

    return GraphQLPart(sdl=SDL, resolvers={"Query.me": me, "Query.myGrants": bus_field(Users.list_my_grants),
                                           "Mutation.updateMe": bus_field(Users.update_me),
                                           "Mutation.changePassword": bus_field(Users.change_password),
                                           "Mutation.revokeGrant": bus_field(Users.revoke_grant),
                                           "Mutation.requestPasswordReset": bus_field(Users.request_password_reset),
                                           "Mutation.resetPassword": bus_field(Users.reset_password)},
                       fields={"Query.me": Users.get_me})
