"""``shop reviews stats``: review counts and average rating per product, as JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from kernel.core.context import CallContext
from kernel.host.plugin import Command
from plugins.catalog.contract import Catalog, GetProductsByIds


async def stats(runtime: Any, limit: int) -> list[dict[str, Any]]:
    rows = await runtime.db.fetch(
        "SELECT product_id, count(*) AS reviews, round(avg(rating), 2)::text AS average "
        "FROM product_reviews WHERE hidden_at IS NULL GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT $1", limit)
    ids = tuple(r["product_id"] for r in rows)
    slugs: dict[str, str] = {}
    if ids:
        # get_products_by_ids is internal: callable from a plugin (nested context), never over HTTP.
        found = await runtime.bus.call(Catalog.get_products_by_ids, GetProductsByIds(ids=ids), CallContext().nested())
        slugs = {p.id: p.slug for p in found.items}
    return [{"productId": r["product_id"], "slug": slugs.get(r["product_id"]), "reviews": r["reviews"],
             "averageRating": float(r["average"])} for r in rows]


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=100, help="at most this many products, most reviewed first")


async def _run(args: argparse.Namespace, runtime: Any) -> int:
    if not 1 <= args.limit <= 10_000:
        print("shop: error: --limit must be between 1 and 10000", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(await stats(runtime, args.limit), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def commands() -> list[Command]:
    return [Command(("reviews", "stats"), "review counts and average rating per product (JSON)", _configure, _run)]
