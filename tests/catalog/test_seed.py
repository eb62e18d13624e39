"""`shop seed --demo` for the catalog: realistic, deterministic, idempotent, fast at 10,000 products."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from kernel.db import Database
from kernel.migrate import migrate
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


def test_generator_is_deterministic():
    cats = [(uuid.UUID(int=i), name, nouns) for i, (_slug, name, nouns) in enumerate(seed.CATEGORIES)]
    assert seed.generate(40, 10, cats) == seed.generate(40, 10, cats)
    slugs = seed.generate(0, 2000, cats)["slug"]
    assert len(set(slugs)) == 2000


async def test_seed_refuses_a_negative_product_count(make_client, empty_db_url):
    from kernel.cli import CliError

    c = await make_client(PLUGINS, database_url=empty_db_url)
    with pytest.raises(CliError):
        await seed.seed_demo(rt_of(c), {**OPTS, "products": -1})
