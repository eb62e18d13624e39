"""GraphQL: fields added to the catalog's Product type, and a mutation (the bus calls of contract.py's routes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.web.graphql import GraphQLPart, bus_field

from .contract import Reviews

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def _of_parent(args: dict[str, Any], parent: Any) -> dict[str, Any]:
    # Product.* resolvers receive the catalog's product (a camelCase dict) as parent.
    return {**args, "productId": parent["id"]}


def _average(summary: dict[str, Any]) -> float | None:
    hundredths = summary["averageHundredths"]
    return None if hundredths is None else hundredths / 100


def part() -> GraphQLPart:
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Product.reviews": bus_field(Reviews.list_reviews, args=_of_parent),
            "Product.rating": bus_field(Reviews.rating_summary, args=lambda a, p: {"productId": p["id"]},
                                        pick=_average),
            "Mutation.addReview": bus_field(Reviews.add_review),
        },
    )
