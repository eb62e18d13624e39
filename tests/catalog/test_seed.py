"""`shop seed --demo` for the catalog: realistic, deterministic, idempotent, fast at 10,000 products."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from kernel.storage.db import Database
from kernel.storage.migrate import migrate
from plugins.catalog import seed
from tests.catalog.conftest import PLUGINS
from tests.conftest import ROOT, rt_of


@pytest.fixture
async def empty_db_url(servers: dict[str, str]) -> AsyncIterator[str]:
    """A database of its own: the seed skips a catalog that has data, and the shared one has."""
    name = f"shop_seed_{uuid.uuid4().hex[:10]}"
    admin = servers["database"]
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = urlunparse(urlparse(admin)._replace(path="/" + name))
    # Only kernel + catalog: independent of whatever other plugins are installed meanwhile.
    db = Database(url, min_size=1, max_size=2)
    await db.start()
    try:
        await migrate(db, [("kernel", ROOT / "migrations" / "kernel"), ("catalog", ROOT / "migrations" / "catalog")])
    finally:
        await db.stop()
    try:
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


OPTS = {"demo": True, "products": None, "if_empty": False}


async def test_seed_creates_a_demo_catalog_once_and_scales_on_request(make_client, empty_db_url):
    c = await make_client(PLUGINS, database_url=empty_db_url)
    rt = rt_of(c)
    await c.get("/api/categories")  # cached empty list: the seed must invalidate it
    summary = await seed.seed_demo(rt, dict(OPTS))
    assert "300 products added" in summary
    cats = await (await c.get("/api/categories")).json()
    assert len(cats) == 20
    page = await (await c.get("/api/products", params={"pageSize": "100"})).json()
    assert page["total"] == 300
    currencies = {r["currency"] for r in await rt.db.fetch("SELECT DISTINCT currency FROM catalog_product")}
    assert currencies == {"EUR", "USD", "JPY"}
    item = page["items"][0]
    assert item["name"] and item["description"] and item["priceMinor"] > 0
    jpy = await rt.db.fetchval("SELECT min(price_minor) FROM catalog_product WHERE currency = 'JPY'")
    assert jpy >= 300  # whole yen, not cents
    assert (await (await c.get("/api/products", params={"search": "lamp"})).json())["total"] > 0
    await _assert_variants_are_realistic(c, rt)

    again = await seed.seed_demo(rt, dict(OPTS))
    assert again.startswith("skipped")
    assert await rt.db.fetchval("SELECT count(*) FROM catalog_product") == 300
    assert (await seed.seed_demo(rt, {**OPTS, "if_empty": True, "products": 500})).startswith("skipped")

    start = time.monotonic()
    await seed.seed_demo(rt, {**OPTS, "products": 10_000})
    assert time.monotonic() - start < 60
    assert await rt.db.fetchval("SELECT count(*) FROM catalog_product") == 10_000
    assert (await (await c.get("/api/products")).json())["total"] == 10_000
    await seed.seed_demo(rt, {**OPTS, "products": 10_000})
    assert await rt.db.fetchval("SELECT count(*) FROM catalog_product") == 10_000


async def _assert_variants_are_realistic(c, rt) -> None:
    """Clothing and shoes come in sizes (and colours); the rest has one default variant with the product's id."""
    shapes = await rt.db.fetch(
        "SELECT c.slug AS category, count(*) FILTER (WHERE n > 1) AS multi, count(*) FILTER (WHERE n = 1) AS single, "
        "count(*) FILTER (WHERE n = 1 AND default_id) AS default_ids, count(*) FILTER (WHERE price_ok) AS priced "
        "FROM (SELECT p.id, p.category_id, count(v.id) AS n, bool_and(p.id = v.id OR v.position > 0) AS default_id, "
        "      p.price_minor = min(v.price_minor) AS price_ok "
        "      FROM catalog_product p JOIN catalog_variant v ON v.product_id = p.id GROUP BY p.id) x "
        "JOIN catalog_category c ON c.id = x.category_id GROUP BY c.slug")
    by_cat = {r["category"]: r for r in shapes}
    assert sum(r["multi"] + r["single"] for r in shapes) == 300  # every product has a variant
    assert by_cat["clothing"]["multi"] > by_cat["clothing"]["single"]
    assert by_cat["shoes"]["multi"] > 0 and by_cat["books"]["multi"] == 0
    assert all(r["single"] == r["default_ids"] and r["priced"] == r["multi"] + r["single"] for r in shapes)
    page = await (await c.get("/api/products", params={"category": "clothing", "option.size": "M",
                                                       "option.colour": "Navy", "inStock": "true"})).json()
    assert page["total"] > 0
    assert all(any(v["options"] == {"size": "M", "colour": "Navy"} and v["stockQty"] > 0 for v in i["variants"])
               for i in page["items"])
    sizes = next(o for o in page["facets"]["options"] if o["name"] == "size")
    assert [v["value"] for v in sizes["values"]] == ["M"]
    # The seed Product fields are still there, the single-variant product's variant is the product.
    book = (await (await c.get("/api/products", params={"category": "books", "pageSize": "1"})).json())["items"][0]
    assert book["variants"] == [{"id": book["id"], "productId": book["id"], "sku": book["slug"], "options": {},
                                 "priceMinor": book["priceMinor"], "currency": book["currency"],
                                 "stockQty": book["stockQty"]}]


def test_generator_is_deterministic():
    cats = [(uuid.UUID(int=i), name, nouns) for i, (_slug, name, nouns) in enumerate(seed.CATEGORIES)]
    assert seed.generate(40, 10, cats) == seed.generate(40, 10, cats)
    slugs = seed.generate(0, 2000, cats)["slug"]
    assert len(set(slugs)) == 2000


async def test_seed_refuses_a_negative_product_count(make_client, empty_db_url):
    from kernel.host.plugin import CliError

    c = await make_client(PLUGINS, database_url=empty_db_url)
    with pytest.raises(CliError):
        await seed.seed_demo(rt_of(c), {**OPTS, "products": -1})
