"""Variants: default variant, admin management over REST and GraphQL, aggregates, validation, cache, migration."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from kernel.storage.db import Database
from kernel.storage.migrate import migrate
from tests.catalog.conftest import ADMIN, SHOPPER, Shop, uniq
from tests.conftest import ROOT, rt_of

MISSING_ID = "00000000-0000-4000-8000-000000000000"


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _problem(resp: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


async def _variant(c: Any, product_id: str, **fields: Any) -> dict[str, Any]:
    body = {"sku": uniq("SKU"), "options": {}, "priceMinor": 1000, "currency": "EUR", "stockQty": 5, **fields}
    return await _ok(await c.post(f"/api/admin/products/{product_id}/variants", json=body, headers=ADMIN), 201)


async def _tee(c: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A T-shirt in S/M Navy and M Sand, its default variant turned into S Navy."""
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat, name="Tee", priceMinor=1500, stockQty=4)
    default = p["variants"][0]
    await _ok(await c.patch(f"/api/admin/variants/{default['id']}",
                            json={"options": {"size": "S", "colour": "Navy"}}, headers=ADMIN))
    m_navy = await _variant(c, p["id"], options={"size": "M", "colour": "Navy"}, priceMinor=1700, stockQty=0)
    m_sand = await _variant(c, p["id"], options={"size": "M", "colour": "Sand"}, priceMinor=1400, stockQty=7)
    return cat, p, [default, m_navy, m_sand]


async def test_a_product_without_options_has_one_default_variant_with_its_id_price_and_stock(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), priceMinor=999, currency="USD", stockQty=6)
    assert p["options"] == []
    assert p["variants"] == [{"id": p["id"], "productId": p["id"], "sku": p["slug"], "options": {},
                              "priceMinor": 999, "currency": "USD", "stockQty": 6}]
    assert (p["priceMinor"], p["currency"], p["stockQty"]) == (999, "USD", 6)


async def test_variants_make_the_product_price_the_lowest_stock_the_sum_options_the_union(catalog_client):
    c = await catalog_client()
    _cat, p, (s_navy, m_navy, m_sand) = await _tee(c)
    got = await _ok(await c.get(f"/api/products/{p['slug']}"))
    assert (got["priceMinor"], got["currency"], got["stockQty"]) == (1400, "EUR", 4 + 0 + 7)
    assert got["options"] == [{"name": "size", "values": ["S", "M"]}, {"name": "colour", "values": ["Navy", "Sand"]}]
    assert [v["id"] for v in got["variants"]] == [s_navy["id"], m_navy["id"], m_sand["id"]]
    assert got["variants"][1]["options"] == {"size": "M", "colour": "Navy"}
    # A new value extends the options; its price below the others becomes the product's price.
    await _variant(c, p["id"], options={"size": "L", "colour": "Navy"}, priceMinor=900, stockQty=1)
    got = await _ok(await c.get(f"/api/products/{p['slug']}"))
    assert got["options"][0] == {"name": "size", "values": ["S", "M", "L"]}
    assert (got["priceMinor"], got["stockQty"]) == (900, 12)
    # Deleting the cheapest puts the price back.
    cheapest = got["variants"][-1]["id"]
    assert (await _ok(await c.delete(f"/api/admin/variants/{cheapest}", headers=ADMIN)))["deleted"] is True
    got = await _ok(await c.get(f"/api/products/{p['slug']}"))
    assert (got["priceMinor"], got["stockQty"], len(got["variants"])) == (1400, 11, 3)


async def test_variant_price_and_stock_endpoints_change_only_that_variant(catalog_client):
    c = await catalog_client()
    _cat, p, (s_navy, m_navy, m_sand) = await _tee(c)
    v = await _ok(await c.put(f"/api/admin/variants/{m_navy['id']}/price", json={"priceMinor": 1100,
                                                                               "currency": "EUR"}, headers=ADMIN))
    assert (v["id"], v["priceMinor"], v["sku"]) == (m_navy["id"], 1100, m_navy["sku"])
    v = await _ok(await c.put(f"/api/admin/variants/{m_navy['id']}/stock", json={"stockQty": 9}, headers=ADMIN))
    assert v["stockQty"] == 9
    got = await _ok(await c.get(f"/api/products/{p['slug']}"))
    assert {x["id"]: (x["priceMinor"], x["stockQty"]) for x in got["variants"]} == {
        s_navy["id"]: (1500, 4), m_navy["id"]: (1100, 9), m_sand["id"]: (1400, 7)}
    assert (got["priceMinor"], got["stockQty"]) == (1100, 20)


async def test_product_level_price_and_stock_work_for_one_variant_and_refuse_several(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    single = await shop.product(await shop.category(), stockQty=2)
    got = await _ok(await c.put(f"/api/admin/products/{single['id']}/price", json={"priceMinor": 555,
                                                                                 "currency": "USD"}, headers=ADMIN))
    assert (got["priceMinor"], got["currency"], got["variants"][0]["priceMinor"]) == (555, "USD", 555)
    got = await _ok(await c.put(f"/api/admin/products/{single['id']}/stock", json={"stockQty": 8}, headers=ADMIN))
    assert got["stockQty"] == got["variants"][0]["stockQty"] == 8
    got = await _ok(await c.post(f"/api/admin/products/{single['id']}/stock-adjustments", json={"delta": -3},
                                 headers=ADMIN))
    assert got["variants"][0]["stockQty"] == 5
    _cat, tee, _vs = await _tee(c)
    for method, path, body in (("PUT", "price", {"priceMinor": 1, "currency": "EUR"}), ("PUT", "stock", {"stockQty": 1}),
                               ("POST", "stock-adjustments", {"delta": 1})):
        r = await c.request(method, f"/api/admin/products/{tee['id']}/{path}", json=body, headers=ADMIN)
        assert (await _problem(r, 409, "FAILED_PRECONDITION"))["reason"] == "HAS_VARIANTS"


async def test_variant_writes_are_validated_and_name_the_field(catalog_client):
    c = await catalog_client()
    _cat, p, (s_navy, m_navy, _m_sand) = await _tee(c)
    url = f"/api/admin/products/{p['id']}/variants"
    base = {"sku": uniq("SKU"), "priceMinor": 100, "currency": "EUR"}
    await _problem(await c.post(url, json={**base, "options": ["size", "M"]}, headers=ADMIN), 400,
                   "INVALID_ARGUMENT", "options")
    await _problem(await c.post(url, json={**base, "options": {"size": 3}}, headers=ADMIN), 400,
                   "INVALID_ARGUMENT", "options.size")
    await _problem(await c.post(url, json={**base, "options": {"size": ""}}, headers=ADMIN), 400,
                   "INVALID_ARGUMENT", "options.size")
    await _problem(await c.post(url, json={**base, "options": {f"o{i}": "x" for i in range(11)}}, headers=ADMIN),
                   400, "INVALID_ARGUMENT", "options")
    await _problem(await c.post(url, json={**base, "sku": "no spaces"}, headers=ADMIN), 400, "INVALID_ARGUMENT", "sku")
    await _problem(await c.post(url, json={**base, "currency": "USD"}, headers=ADMIN), 400, "INVALID_ARGUMENT",
                   "currency")
    await _problem(await c.post(url, json={**base, "options": {"size": "M", "colour": "Navy"}}, headers=ADMIN), 409,
                   "ALREADY_EXISTS", "options")
    await _problem(await c.post(url, json={**base, "sku": s_navy["sku"], "options": {"size": "XL"}}, headers=ADMIN),
                   409, "ALREADY_EXISTS", "sku")
    await _problem(await c.patch(f"/api/admin/variants/{m_navy['id']}", json={"options": {"size": "S",
                                                                                         "colour": "Navy"}},
                                 headers=ADMIN), 409, "ALREADY_EXISTS", "options")
    await _problem(await c.post(f"/api/admin/products/{MISSING_ID}/variants", json=base, headers=ADMIN), 404,
                   "NOT_FOUND")
    await _problem(await c.put("/api/admin/variants/nope/stock", json={"stockQty": 1}, headers=ADMIN), 404,
                   "NOT_FOUND")
    await _problem(await c.put(f"/api/admin/variants/{m_navy['id']}/stock", json={"stockQty": -1}, headers=ADMIN),
                   400, "INVALID_ARGUMENT", "stockQty")
    await _problem(await c.post(url, json=base, headers=SHOPPER), 403, "PERMISSION_DENIED")
    # A product keeps at least one variant.
    shop = Shop(c)
    lone = await shop.product(await shop.category())
    body = await _problem(await c.delete(f"/api/admin/variants/{lone['id']}", headers=ADMIN), 409,
                          "FAILED_PRECONDITION")
    assert body["reason"] == "LAST_VARIANT"
    # Nothing above changed the product.
    got = await _ok(await c.get(f"/api/products/{p['slug']}"))
    assert len(got["variants"]) == 3 and got["priceMinor"] == 1400


async def test_the_only_variant_may_change_currency_and_the_product_follows(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    await _ok(await c.put(f"/api/admin/variants/{p['id']}/price", json={"priceMinor": 700, "currency": "JPY"},
                          headers=ADMIN))
    got = await _ok(await c.get(f"/api/products/{p['slug']}"))
    assert (got["priceMinor"], got["currency"]) == (700, "JPY")


async def test_each_variant_write_invalidates_its_product_and_lists_but_not_other_products(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat, p, (_s, m_navy, _m) = await _tee(c)
    other = await shop.product(await shop.category())
    writes = [
        ("PUT", f"/api/admin/variants/{m_navy['id']}/stock", {"stockQty": 3}),
        ("PUT", f"/api/admin/variants/{m_navy['id']}/price", {"priceMinor": 1399, "currency": "EUR"}),
        ("PATCH", f"/api/admin/variants/{m_navy['id']}", {"sku": uniq("NEW")}),
        ("POST", f"/api/admin/products/{p['id']}/variants", {"sku": uniq("SKU"), "options": {"size": "XL"},
                                                            "priceMinor": 2000, "currency": "EUR"}),
    ]
    for method, url, body in writes:
        for path in (f"/api/products/{p['slug']}", f"/api/products?category={cat['slug']}",
                     f"/api/products/{other['slug']}"):
            await c.get(path)
        r = await c.get(f"/api/products/{other['slug']}")
        assert r.headers["X-Cache"] in ("local", "redis")
        before = await _ok(await c.get(f"/api/products/{p['slug']}"))
        await _ok(await c.request(method, url, json=body, headers=ADMIN), 201 if method == "POST" else 200)
        r = await c.get(f"/api/products/{p['slug']}")
        assert r.headers["X-Cache"] == "miss", url
        assert await r.json() != before
        r = await c.get(f"/api/products?category={cat['slug']}")
        assert r.headers["X-Cache"] == "miss", url
        r = await c.get(f"/api/products/{other['slug']}")
        assert r.headers["X-Cache"] in ("local", "redis"), url  # exactly the affected keys


async def test_graphql_manages_variants_like_rest(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), priceMinor=800)
    sku = uniq("GQL")
    q = """mutation($p: ID!, $sku: String!) {
      createVariant(productId: $p, sku: $sku, options: [{name: "size", value: "XL"}], priceMinor: 650,
                    currency: "EUR", stockQty: 3) { id productId sku options { name value } priceMinor stockQty } }"""
    body = await _ok(await c.post("/graphql", json={"query": q, "variables": {"p": p["id"], "sku": sku}},
                                  headers=ADMIN))
    v = body["data"]["createVariant"]
    assert (v["productId"], v["sku"], v["options"], v["priceMinor"], v["stockQty"]) == (
        p["id"], sku, [{"name": "size", "value": "XL"}], 650, 3)
    for mutation in (f'setVariantStock(id: "{v["id"]}", stockQty: 4) {{ stockQty }}',
                     f'setVariantPrice(id: "{v["id"]}", priceMinor: 600, currency: "EUR") {{ priceMinor }}',
                     f'updateVariant(id: "{v["id"]}", options: [{{name: "size", value: "XXL"}}]) {{ sku }}'):
        body = await _ok(await c.post("/graphql", json={"query": f"mutation {{ {mutation} }}"}, headers=ADMIN))
        assert "errors" not in body, body
    q = """query($s: String!) { product(slug: $s) { priceMinor stockQty options { name values }
             variants { sku options { name value } priceMinor stockQty } } }"""
    body = await _ok(await c.post("/graphql", json={"query": q, "variables": {"s": p["slug"]}}))
    got = body["data"]["product"]
    assert (got["priceMinor"], got["stockQty"]) == (600, 10 + 4)
    assert got["options"] == [{"name": "size", "values": ["XXL"]}]
    assert got["variants"][1] == {"sku": sku, "options": [{"name": "size", "value": "XXL"}], "priceMinor": 600,
                                  "stockQty": 4}
    # A name given twice is refused, not silently merged.
    twice = '[{name: "a", value: "1"}, {name: "a", value: "2"}]'
    q = f'mutation {{ updateVariant(id: "{v["id"]}", options: {twice}) {{ sku }} }}'
    body = await _ok(await c.post("/graphql", json={"query": q}, headers=ADMIN))
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    body = await _ok(await c.post("/graphql", json={"query": f'mutation {{ deleteVariant(id: "{v["id"]}") {{ deleted }} }}'},
                                  headers=ADMIN))
    assert body["data"]["deleteVariant"]["deleted"] is True


async def test_the_database_refuses_duplicate_skus_and_negative_variant_stock(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    a = await shop.product(await shop.category())
    b = await shop.product(await shop.category())
    db = rt_of(c).db
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute("UPDATE catalog_variant SET sku = $2 WHERE id = $1", uuid.UUID(b["id"]), a["slug"])
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE catalog_variant SET stock_qty = -1 WHERE id = $1", uuid.UUID(a["id"]))


@pytest.fixture
async def old_db_url(servers: dict[str, str]) -> Any:
    name = f"shop_v1_{uuid.uuid4().hex[:10]}"
    admin = servers["database"]
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield urlunparse(urlparse(admin)._replace(path="/" + name))
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_migration_gives_every_existing_product_and_order_line_its_default_variant(old_db_url, tmp_path):
    """A v0.1 database (catalog and orders at m0001, with data) migrates to variants losing nothing."""
    v1 = {}
    for app in ("catalog", "orders"):
        folder = tmp_path / app
        folder.mkdir()
        (folder / "m0001.py").write_text((ROOT / "migrations" / app / f"m0001_{app}.py").read_text())
        v1[app] = folder
    db = Database(old_db_url, min_size=1, max_size=2)
    await db.start()
    try:
        await migrate(db, [("kernel", ROOT / "migrations" / "kernel"), ("catalog", v1["catalog"]),
                           ("orders", v1["orders"])])
        cid = await db.fetchval("INSERT INTO catalog_category (slug, name) VALUES ('old', 'Old') RETURNING id")
        pid = await db.fetchval("INSERT INTO catalog_product (category_id, slug, name, price_minor, currency, "
                                "stock_qty) VALUES ($1, 'old-mug', 'Old Mug', 1234, 'EUR', 7) RETURNING id", cid)
        cart = await db.fetchval("INSERT INTO orders_cart (user_id) VALUES ('u1') RETURNING id")
        await db.execute("INSERT INTO orders_cart_item (cart_id, product_id, qty) VALUES ($1, $2, 2)", cart, str(pid))
        order = await db.fetchval("INSERT INTO orders_order (user_id, status, total_minor, currency, payment_method) "
                                  "VALUES ('u1', 'paid', 1234, 'EUR', 'wallet') RETURNING id")
        await db.execute("INSERT INTO orders_order_item (order_id, position, product_id, slug, name, qty, "
                         "unit_price_minor, currency, line_total_minor) VALUES ($1, 0, $2, 'old-mug', 'Old Mug', 1, "
                         "1234, 'EUR', 1234)", order, str(pid))
        ran = await migrate(db, [("kernel", ROOT / "migrations" / "kernel"),
                                 ("catalog", Path(ROOT / "migrations" / "catalog")),
                                 ("orders", Path(ROOT / "migrations" / "orders"))])
        assert any(r.startswith("catalog:") for r in ran) and any(r.startswith("orders:") for r in ran)
        v = await db.fetchrow("SELECT id, product_id, sku, options::text AS options, price_minor, currency, stock_qty "
                              "FROM catalog_variant")
        assert dict(v) == {"id": pid, "product_id": pid, "sku": "old-mug", "options": "{}", "price_minor": 1234,
                           "currency": "EUR", "stock_qty": 7}
        assert await db.fetchval("SELECT variant_id FROM orders_cart_item") == str(pid)
        item = await db.fetchrow("SELECT variant_id, sku, options::text AS options FROM orders_order_item")
        assert dict(item) == {"variant_id": str(pid), "sku": "old-mug", "options": "{}"}
    finally:
        await db.stop()


async def _low_stock_pages(c: Any, headers: Any, threshold: int) -> list[dict[str, Any]]:
    """Every page of the low-stock list (the database is shared by the run: others' variants are in it too)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = await _ok(await c.get("/api/admin/low-stock", params={"threshold": threshold, "page": page,
                                                                      "pageSize": 100}, headers=headers))
        assert body["threshold"] == threshold
        items += body["items"]
        if page * 100 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


async def test_the_low_stock_list_holds_each_variant_at_or_below_the_threshold_lowest_first(catalog_client):
    c = await catalog_client()
    _cat, p, (s_navy, m_navy, m_sand) = await _tee(c)  # stock 4, 0 and 7
    items = await _low_stock_pages(c, ADMIN, 4)
    mine = [i for i in items if i["productId"] == p["id"]]
    assert [i["variant"]["id"] for i in mine] == [m_navy["id"], s_navy["id"]]
    assert mine[0]["productSlug"] == p["slug"] and mine[0]["productName"] == "Tee"
    assert mine[0]["variant"]["options"] == {"size": "M", "colour": "Navy"}
    stocks = [i["variant"]["stockQty"] for i in items]
    assert stocks == sorted(stocks) and all(s <= 4 for s in stocks)
    assert m_sand["id"] not in [i["variant"]["id"] for i in await _low_stock_pages(c, ADMIN, 6)]
    # GraphQL: the same list, options as pairs.
    q = await c.post("/graphql", headers=ADMIN, json={
        "query": "{ lowStock(threshold: 0, pageSize: 100) { threshold total items { productId "
                 "variant { id sku stockQty options { name value } } } } }"})
    data = (await q.json())["data"]["lowStock"]
    assert data["threshold"] == 0 and all(i["variant"]["stockQty"] == 0 for i in data["items"])
    # Bad input is a 400 naming the field; shoppers and strangers are refused.
    await _problem(await c.get("/api/admin/low-stock", params={"threshold": "-1"}, headers=ADMIN),
                   400, "INVALID_ARGUMENT", "threshold")
    await _problem(await c.get("/api/admin/low-stock", params={"pageSize": "500"}, headers=ADMIN),
                   400, "INVALID_ARGUMENT", "pageSize")
    assert (await c.get("/api/admin/low-stock", headers=SHOPPER)).status == 403
    assert (await c.get("/api/admin/low-stock")).status == 401
