"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path

from kernel.web.graphql import GraphQLPart, bus_field

from .contract import Payments

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def part() -> GraphQLPart:
    return GraphQLPart(sdl=SDL, resolvers={
        "Query.payment": bus_field(Payments.get, null_if_not_found=True),
        "Mutation.confirmPayment": bus_field(Payments.confirm),
    })
