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
    rows = await rt.db.fetch(
        "SELECT p.id, p.slug, p.name, p.description, p.price_minor, p.currency, p.created_at, "
        "array_agg(v.id) AS v_ids, array_agg(v.sku) AS skus, array_agg(v.options::text) AS options, "
        "array_agg(v.price_minor) AS v_prices, array_agg(v.currency) AS v_currencies, "
        "array_agg(v.stock_qty) AS stocks, array_agg(v.position) AS positions, array_agg(v.created_at) AS v_created "
        "FROM catalog_product p LEFT JOIN catalog_variant v ON v.product_id = p.id "
        "WHERE p.created_at <= timestamptz '2026-11-01' - interval '100 minutes' "
        "GROUP BY p.id ORDER BY p.created_at DESC")
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
        # One default variant, as the variants migration gives products: the product's id, SKU = slug,
        # no options, the product's price; the stock lives on it.
        assert r["v_ids"] == [r["id"]] and r["skus"] == [r["slug"]] and r["options"] == ["{}"]
        assert r["v_prices"] == [r["price_minor"]] and r["v_currencies"] == [r["currency"]]
        assert r["positions"] == [0] and r["v_created"] == [r["created_at"]]
        assert r["stocks"][0] in (0, 3, 5, 10, 25, 50, 100, 250)
    assert {r["currency"] for r in rows} == {"EUR", "USD", "JPY"}
    assert len({r["stocks"][0] for r in rows}) > 3  # the stock varies like the generator's
    # The API shows the bulk products like any other: stock from the variant, the variant listed.
    shown = await (await c.get(f"/api/products/{rows[0]['slug']}")).json()
    assert shown["stockQty"] == rows[0]["stocks"][0]
    assert [(v["id"], v["sku"], v["options"]) for v in shown["variants"]] == [(str(rows[0]["id"]), rows[0]["slug"], {})]
    # Every index is back after the rebuild, and search sees the new rows.
    indexes = {r["indexname"] for r in await rt.db.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'catalog_product'")}
    assert {"catalog_product_search", "catalog_product_newest", "catalog_product_name_prefix"} <= indexes
    variant_indexes = {r["indexname"] for r in await rt.db.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'catalog_variant'")}
    assert {"catalog_variant_product", "catalog_variant_options"} <= variant_indexes
    word = rows[0]["name"].split()[0].lower()
    assert (await (await c.get("/api/products", params={"search": word})).json())["total"] > 0
    # Deterministic and idempotent: the same numbers make the same products, added once.
    before = [(r["slug"], r["name"]) for r in rows]
    await seed.seed_demo(rt, {**OPTS, "products": 400})
    assert await rt.db.fetchval("SELECT count(*) FROM catalog_product") == 400
    assert await rt.db.fetchval("SELECT count(*) FROM catalog_product p WHERE NOT EXISTS "
                                "(SELECT 1 FROM catalog_variant v WHERE v.product_id = p.id)") == 0
    await rt.db.execute("DELETE FROM catalog_product WHERE created_at <= timestamptz '2026-11-01' - interval '100 minutes'")
    await seed.seed_demo(rt, {**OPTS, "products": 400})
    again = await rt.db.fetch("SELECT slug, name FROM catalog_product WHERE created_at <= "
                              "timestamptz '2026-11-01' - interval '100 minutes' ORDER BY created_at DESC")
    assert [(r["slug"], r["name"]) for r in again] == before
