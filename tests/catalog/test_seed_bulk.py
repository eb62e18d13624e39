"""Large demo catalogs: products past BULK_FROM are generated in SQL, deterministic and shaped like the rest."""

from __future__ import annotations

import re

from plugins.catalog import seed, seed_bulk
from tests.catalog.conftest import PLUGINS
from tests.catalog.test_seed import OPTS, empty_db_url  # noqa: F401 (fixture)
from tests.conftest import rt_of

NAME = re.compile(r"^(\w+) (\w+) (.+), (.+)$")


async def test_products_past_bulk_from_come_from_sql_with_the_generator_words(make_client, empty_db_url,  # noqa: F811
                                                                               monkeypatch):
    monkeypatch.setattr(seed, "BULK_FROM", 100)
    monkeypatch.setattr(seed_bulk, "REBUILD_FROM", 150)  # and exercise the index rebuild
    c = await make_client(PLUGINS, database_url=empty_db_url)
    rt = rt_of(c)
    summary = await seed.seed_demo(rt, {**OPTS, "products": 400})
    assert "400 products added" in summary
    rows = await rt.db.fetch("SELECT slug, name, description, price_minor, currency, stock_qty FROM catalog_product "
                             "WHERE created_at <= timestamptz '2026-11-01' - interval '100 minutes' ORDER BY created_at DESC")
    assert len(rows) == 300
    nouns = {n for _s, _n, ns in seed.CATEGORIES for n in ns}
    for r in rows:
        brand, adjective, noun, colour = NAME.match(r["name"]).groups()
        assert brand in seed.BRANDS
        assert adjective in seed.ADJECTIVES and noun in nouns and colour in seed.COLOURS
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r["slug"])
        assert f"this {colour.lower()} {noun.lower()} from" in r["description"]
        low, high = {cur: (lo, hi) for cur, lo, hi in seed.PRICES}[r["currency"]]
        assert low - 10 <= r["price_minor"] <= high + 99
        assert r["stock_qty"] in (0, 3, 5, 10, 25, 50, 100, 250)
    assert {r["currency"] for r in rows} == {"EUR", "USD", "JPY"}
    # Every index is back after the rebuild, and search sees the new rows.
    indexes = {r["indexname"] for r in await rt.db.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'catalog_product'")}
    assert {"catalog_product_search", "catalog_product_newest", "catalog_product_name_prefix"} <= indexes
    word = rows[0]["name"].split()[0].lower()
    assert (await (await c.get("/api/products", params={"search": word})).json())["total"] > 0
    # Deterministic and idempotent: the same numbers make the same products, added once.
    before = [(r["slug"], r["name"]) for r in rows]
    await seed.seed_demo(rt, {**OPTS, "products": 400})
    assert await rt.db.fetchval("SELECT count(*) FROM catalog_product") == 400
    await rt.db.execute("DELETE FROM catalog_product WHERE created_at <= timestamptz '2026-11-01' - interval '100 minutes'")
    await seed.seed_demo(rt, {**OPTS, "products": 400})
    again = await rt.db.fetch("SELECT slug, name FROM catalog_product WHERE created_at <= "
                              "timestamptz '2026-11-01' - interval '100 minutes' ORDER BY created_at DESC")
    assert [(r["slug"], r["name"]) for r in again] == before
