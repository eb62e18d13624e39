"""Admin writes over REST and GraphQL: authorization, validation (4xx naming fields), effects."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import ADMIN, SHOPPER, Shop, uniq
from tests.support.fake_identity import ALL_USER_SCOPES, principal_header

MISSING_ID = "00000000-0000-4000-8000-000000000000"


async def _problem(resp, status: int, code: str) -> dict:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["code"] == code
    return body


def _fields(body: dict) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


ADMIN_CALLS = [
    ("POST", "/api/admin/categories", {"slug": "x", "name": "X"}),
    ("PATCH", f"/api/admin/categories/{MISSING_ID}", {"name": "X"}),
    ("DELETE", f"/api/admin/categories/{MISSING_ID}", None),
    ("POST", "/api/admin/products", {"slug": "x", "name": "X", "categoryId": MISSING_ID, "priceMinor": 1,
                                     "currency": "EUR"}),
    ("PATCH", f"/api/admin/products/{MISSING_ID}", {"name": "X"}),
    ("DELETE", f"/api/admin/products/{MISSING_ID}", None),
    ("PUT", f"/api/admin/products/{MISSING_ID}/price", {"priceMinor": 1, "currency": "EUR"}),
    ("PUT", f"/api/admin/products/{MISSING_ID}/stock", {"stockQty": 1}),
    ("POST", f"/api/admin/products/{MISSING_ID}/stock-adjustments", {"delta": 1}),
]


@pytest.mark.parametrize("method, path, body", ADMIN_CALLS)
async def test_admin_routes_refuse_anonymous_401_and_shoppers_403(catalog_client, method, path, body):
    c = await catalog_client()
    r = await c.request(method, path, json=body)
    await _problem(r, 401, "UNAUTHENTICATED")
    r = await c.request(method, path, json=body, headers=SHOPPER)
    await _problem(r, 403, "PERMISSION_DENIED")


async def test_admin_scope_without_admin_role_is_refused(catalog_client):
    c = await catalog_client()
    scoped = principal_header("user-2", scopes=(*ALL_USER_SCOPES, "admin"))
    r = await c.post("/api/admin/categories", json={"slug": uniq(), "name": "X"}, headers=scoped)
    body = await _problem(r, 403, "PERMISSION_DENIED")
    assert body["reason"] == "NOT_ADMIN"


async def test_graphql_mutations_need_an_admin(catalog_client):
    c = await catalog_client()
    q = 'mutation { createCategory(slug: "gql-denied", name: "X") { id } }'
    body = await (await c.post("/graphql", json={"query": q})).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await (await c.post("/graphql", json={"query": q}, headers=SHOPPER)).json()
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


# ----------------------------------------------------------------- categories


@pytest.mark.parametrize("body, field", [
    ({"slug": "ok-slug", "name": "   "}, "name"),
    ({"slug": "ok-slug", "name": ""}, "name"),
    ({"slug": "Bad Slug", "name": "X"}, "slug"),
    ({"slug": "", "name": "X"}, "slug"),
    ({"slug": "a" * 101, "name": "X"}, "slug"),
    ({"name": "X"}, "slug"),
    ({"slug": "ok-slug"}, "name"),
    ({"slug": "ok-slug", "name": 7}, "name"),
    ({"slug": "ok-slug", "name": "X", "extra": 1}, "extra"),
])
async def test_create_category_validates_fields(catalog_client, body, field):
    c = await catalog_client()
    r = await c.post("/api/admin/categories", json=body, headers=ADMIN)
    assert field in _fields(await _problem(r, 400, "INVALID_ARGUMENT"))


async def test_create_category_with_a_taken_slug_is_409_already_exists(catalog_client):
    c = await catalog_client()
    cat = await Shop(c).category()
    r = await c.post("/api/admin/categories", json={"slug": cat["slug"], "name": "Again"}, headers=ADMIN)
    assert _fields(await _problem(r, 409, "ALREADY_EXISTS")) == ["slug"]


async def test_update_category_renames_and_refuses_taken_slugs(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    a, b = await shop.category(), await shop.category()
    new_slug = uniq("renamed")
    r = await c.patch(f"/api/admin/categories/{a['id']}", json={"slug": new_slug, "name": "Renamed"}, headers=ADMIN)
    assert r.status == 200
    assert await r.json() == {"id": a["id"], "slug": new_slug, "name": "Renamed"}
    r = await c.patch(f"/api/admin/categories/{a['id']}", json={"slug": b["slug"]}, headers=ADMIN)
    assert _fields(await _problem(r, 409, "ALREADY_EXISTS")) == ["slug"]
    r = await c.patch(f"/api/admin/categories/{a['id']}", json={"name": " "}, headers=ADMIN)
    assert _fields(await _problem(r, 400, "INVALID_ARGUMENT")) == ["name"]
    for bad in (MISSING_ID, "not-a-uuid"):
        r = await c.patch(f"/api/admin/categories/{bad}", json={"name": "X"}, headers=ADMIN)
        await _problem(r, 404, "NOT_FOUND")


async def test_deleting_a_category_with_products_is_category_not_empty(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat)
    r = await c.delete(f"/api/admin/categories/{cat['id']}", headers=ADMIN)
    assert (await _problem(r, 409, "FAILED_PRECONDITION"))["reason"] == "CATEGORY_NOT_EMPTY"
    assert (await c.delete(f"/api/admin/products/{p['id']}", headers=ADMIN)).status == 200
    r = await c.delete(f"/api/admin/categories/{cat['id']}", headers=ADMIN)
    assert r.status == 200 and await r.json() == {"id": cat["id"], "deleted": True}
    assert cat not in await (await c.get("/api/categories")).json()
    await _problem(await c.delete(f"/api/admin/categories/{cat['id']}", headers=ADMIN), 404, "NOT_FOUND")


# ------------------------------------------------------------------- products


@pytest.mark.parametrize("changes, field", [
    ({"priceMinor": -1}, "priceMinor"),
    ({"priceMinor": 2**31}, "priceMinor"),
    ({"priceMinor": "12.99"}, "priceMinor"),
    ({"priceMinor": 12.99}, "priceMinor"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "eur"}, "currency"),
    ({"currency": "EURO"}, "currency"),
    ({"name": "  "}, "name"),
    ({"slug": "Not A Slug"}, "slug"),
    ({"stockQty": -1}, "stockQty"),
    ({"categoryId": MISSING_ID}, "categoryId"),
    ({"categoryId": "not-a-uuid"}, "categoryId"),
    ({"description": "x" * 5001}, "description"),
])
async def test_create_product_validates_fields(catalog_client, changes, field):
    c = await catalog_client()
    cat = await Shop(c).category()
    body = {"slug": uniq(), "name": "Mug", "categoryId": cat["id"], "priceMinor": 100, "currency": "EUR", **changes}
    r = await c.post("/api/admin/products", json=body, headers=ADMIN)
    assert _fields(await _problem(r, 400, "INVALID_ARGUMENT")) == [field]


async def test_create_product_with_a_taken_slug_is_409(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat)
    body = {"slug": p["slug"], "name": "Mug", "categoryId": cat["id"], "priceMinor": 100, "currency": "EUR"}
    r = await c.post("/api/admin/products", json=body, headers=ADMIN)
    assert _fields(await _problem(r, 409, "ALREADY_EXISTS")) == ["slug"]


async def test_create_product_accepts_zero_exponent_and_three_exponent_currencies(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    assert (await shop.product(cat, priceMinor=1500, currency="JPY"))["currency"] == "JPY"
    assert (await shop.product(cat, priceMinor=1500, currency="BHD"))["currency"] == "BHD"


async def test_update_product_moves_renames_and_validates(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    a, b = await shop.category(), await shop.category()
    p, other = await shop.product(a), await shop.product(a)
    new_slug = uniq("moved")
    r = await c.patch(f"/api/admin/products/{p['id']}",
                      json={"slug": new_slug, "name": "Green Mug", "description": "", "categoryId": b["id"]},
                      headers=ADMIN)
    assert r.status == 200, await r.text()
    moved = await r.json()
    assert (moved["slug"], moved["name"], moved["description"], moved["categoryId"], moved["categorySlug"]) == (
        new_slug, "Green Mug", "", b["id"], b["slug"])
    r = await c.patch(f"/api/admin/products/{p['id']}", json={"slug": other["slug"]}, headers=ADMIN)
    assert _fields(await _problem(r, 409, "ALREADY_EXISTS")) == ["slug"]
    r = await c.patch(f"/api/admin/products/{p['id']}", json={"categoryId": MISSING_ID}, headers=ADMIN)
    assert _fields(await _problem(r, 400, "INVALID_ARGUMENT")) == ["categoryId"]
    r = await c.patch(f"/api/admin/products/{p['id']}", json={"name": ""}, headers=ADMIN)
    assert _fields(await _problem(r, 400, "INVALID_ARGUMENT")) == ["name"]
    r = await c.patch(f"/api/admin/products/{p['id']}", json={}, headers=ADMIN)
    assert r.status == 200 and await r.json() == moved
    await _problem(await c.patch(f"/api/admin/products/{MISSING_ID}", json={"name": "X"}, headers=ADMIN),
                   404, "NOT_FOUND")


async def test_delete_product_makes_it_404(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    r = await c.delete(f"/api/admin/products/{p['id']}", headers=ADMIN)
    assert r.status == 200 and await r.json() == {"id": p["id"], "deleted": True}
    assert (await c.get(f"/api/products/{p['slug']}")).status == 404
    await _problem(await c.delete(f"/api/admin/products/{p['id']}", headers=ADMIN), 404, "NOT_FOUND")


async def test_set_price_validates_and_sets(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    path = f"/api/admin/products/{p['id']}/price"
    r = await c.put(path, json={"priceMinor": 450, "currency": "USD"}, headers=ADMIN)
    assert r.status == 200 and (await r.json())["priceMinor"] == 450 and (await r.json())["currency"] == "USD"
    for body, field in (({"priceMinor": -5, "currency": "USD"}, "priceMinor"),
                        ({"priceMinor": 5, "currency": "ABC"}, "currency"),
                        ({"priceMinor": 5}, "currency")):
        assert _fields(await _problem(await c.put(path, json=body, headers=ADMIN), 400, "INVALID_ARGUMENT")) == [field]
    await _problem(await c.put(f"/api/admin/products/{MISSING_ID}/price", json={"priceMinor": 1, "currency": "EUR"},
                               headers=ADMIN), 404, "NOT_FOUND")


async def test_set_stock_validates_and_sets(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    path = f"/api/admin/products/{p['id']}/stock"
    r = await c.put(path, json={"stockQty": 0}, headers=ADMIN)
    assert r.status == 200 and (await r.json())["stockQty"] == 0
    for bad in (-1, 10**9 + 1, "3", None):
        r = await c.put(path, json={"stockQty": bad}, headers=ADMIN)
        assert _fields(await _problem(r, 400, "INVALID_ARGUMENT")) == ["stockQty"]


async def test_adjust_stock_adds_subtracts_and_never_goes_below_zero(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category(), stockQty=10)
    path = f"/api/admin/products/{p['id']}/stock-adjustments"
    assert (await (await c.post(path, json={"delta": 5}, headers=ADMIN)).json())["stockQty"] == 15
    assert (await (await c.post(path, json={"delta": -15}, headers=ADMIN)).json())["stockQty"] == 0
    for bad in (-1, 0, 10**9 + 1):
        r = await c.post(path, json={"delta": bad}, headers=ADMIN)
        assert _fields(await _problem(r, 400, "INVALID_ARGUMENT")) == ["delta"]
    assert (await (await c.get(f"/api/products/{p['slug']}")).json())["stockQty"] == 0


async def test_graphql_admin_mutations_use_rest_names_and_field_errors(catalog_client):
    c = await catalog_client()
    slug = uniq("gcat")

    async def gql(query: str, **variables):
        return await (await c.post("/graphql", json={"query": query, "variables": variables}, headers=ADMIN)).json()

    cat = (await gql("mutation($s: String!) { createCategory(slug: $s, name: \"G\") { id slug name } }", s=slug))
    cat = cat["data"]["createCategory"]
    q = """mutation($c: ID!, $s: String!) { createProduct(slug: $s, name: "Lamp", categoryId: $c, priceMinor: 999,
             currency: "EUR", stockQty: 2) { id slug categorySlug priceMinor stockQty } }"""
    p = (await gql(q, c=cat["id"], s=uniq("gp")))["data"]["createProduct"]
    assert (p["categorySlug"], p["priceMinor"], p["stockQty"]) == (slug, 999, 2)
    r = await gql("mutation($i: ID!) { setPrice(id: $i, priceMinor: 5, currency: \"ZZZ\") { id } }", i=p["id"])
    ext = r["errors"][0]["extensions"]
    assert ext["code"] == "INVALID_ARGUMENT" and ext["errors"][0]["field"] == "currency"
    r = await gql("mutation($i: ID!) { adjustStock(id: $i, delta: -3) { id } }", i=p["id"])
    assert r["errors"][0]["extensions"]["errors"][0]["field"] == "delta"
    r = await gql("mutation($i: ID!) { setStock(id: $i, stockQty: 7) { stockQty } }", i=p["id"])
    assert r["data"]["setStock"]["stockQty"] == 7
    r = await gql("mutation($i: ID!) { updateProduct(id: $i, name: \"Big Lamp\") { name } }", i=p["id"])
    assert r["data"]["updateProduct"]["name"] == "Big Lamp"
    r = await gql("mutation($i: ID!) { deleteCategory(id: $i) { deleted } }", i=cat["id"])
    assert r["errors"][0]["extensions"]["reason"] == "CATEGORY_NOT_EMPTY"
    r = await gql("mutation($i: ID!) { deleteProduct(id: $i) { id deleted } }", i=p["id"])
    assert r["data"]["deleteProduct"] == {"id": p["id"], "deleted": True}
    r = await gql("mutation($i: ID!) { updateCategory(id: $i, name: \"H\") { name } }", i=cat["id"])
    assert r["data"]["updateCategory"]["name"] == "H"
    r = await gql("mutation($i: ID!) { deleteCategory(id: $i) { deleted } }", i=cat["id"])
    assert r["data"]["deleteCategory"]["deleted"] is True
