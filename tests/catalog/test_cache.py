"""Cache-aside through the kernel's cache interceptor: hits, misses, invalidation, stampedes."""

from __future__ import annotations

import asyncio

from tests.catalog.conftest import ADMIN, Shop, servicer_of, uniq

PRODUCT_Q = "query($s: String!) { product(slug: $s) { slug name priceMinor currency stockQty categorySlug } }"
LIST_Q = "query($c: String) { products(categorySlug: $c) { total items { slug priceMinor stockQty } } }"


async def _gql(client, query, **variables):
    body = await (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    assert "errors" not in body, body
    return body["data"]


async def _product(client, slug):
    r = await client.get(f"/api/products/{slug}")
    return r.status, r.headers.get("X-Cache"), await r.read()


async def test_second_read_is_a_hit_that_does_not_reach_the_servicer(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    svc = servicer_of(c)
    before = svc.fills.get("get_product", 0)
    s1, x1, b1 = await _product(c, p["slug"])
    s2, x2, b2 = await _product(c, p["slug"])
    assert (s1, x1, s2, x2) == (200, "miss", 200, "local")
    assert svc.fills["get_product"] == before + 1
    assert b1 == b2  # byte-identical


async def test_redis_hit_is_byte_identical_to_the_uncached_response(catalog_client):
    a = await catalog_client()
    b = await catalog_client()  # same settings, same redis prefix: a second instance
    shop = Shop(a)
    cat = await shop.category()
    p = await shop.product(cat, name="Zebra Ünïcode ☕", description='quotes " and \\ back')
    _, xa, body_a = await _product(a, p["slug"])
    _, xb, body_b = await _product(b, p["slug"])
    assert (xa, xb) == ("miss", "redis")
    assert body_a == body_b
    # The same for a list: A fills it from the database, B serves A's bytes from Redis.
    cached = await (await a.get("/api/products", params={"category": cat["slug"]})).read()
    again = await (await b.get("/api/products", params={"category": cat["slug"]})).read()
    assert cached == again


async def test_searches_are_not_cached_but_sorts_and_filters_are_each_under_their_own_key(catalog_client):
    c = await catalog_client()
    r = await c.get("/api/products", params={"search": "mug"})
    assert r.headers.get("X-Cache") is None
    bodies = {}
    for params in ({"sort": "price_asc"}, {"sort": "price_desc"}, {"sort": "newest"}, {"inStock": "true"}):
        r = await c.get("/api/products", params=params)
        assert r.headers.get("X-Cache") == "miss", params
        bodies[tuple(params.items())] = await r.read()
        r = await c.get("/api/products", params=params)
        assert r.headers.get("X-Cache") in ("local", "redis"), params
        assert await r.read() == bodies[tuple(params.items())]


async def test_fifty_concurrent_cold_reads_run_the_servicer_once(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    svc = servicer_of(c)
    before = svc.fills.get("get_product", 0)
    results = await asyncio.gather(*(_product(c, p["slug"]) for _ in range(50)))
    assert {r[0] for r in results} == {200}
    assert len({r[2] for r in results}) == 1
    assert svc.fills["get_product"] == before + 1


async def test_every_admin_write_is_visible_at_once_over_rest_and_graphql(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat, priceMinor=100, stockQty=5)
    slug = p["slug"]

    async def warm() -> None:
        await _product(c, slug)
        await _gql(c, PRODUCT_Q, s=slug)
        await c.get("/api/products", params={"category": cat["slug"]})
        await c.get("/api/products")
        await _gql(c, LIST_Q, c=cat["slug"])

    async def rest_list_item(category: str | None) -> dict | None:
        params = {"category": category} if category else {"pageSize": "100"}
        items = (await (await c.get("/api/products", params=params)).json())["items"]
        return next((i for i in items if i["id"] == p["id"]), None)

    await warm()
    await c.put(f"/api/admin/products/{p['id']}/price", json={"priceMinor": 777, "currency": "USD"}, headers=ADMIN)
    assert (await c.get(f"/api/products/{slug}")).headers["X-Cache"] == "miss"
    assert (await _gql(c, PRODUCT_Q, s=slug))["product"]["priceMinor"] == 777
    assert (await rest_list_item(cat["slug"]))["priceMinor"] == 777
    assert (await rest_list_item(None))["priceMinor"] == 777
    assert (await _gql(c, LIST_Q, c=cat["slug"]))["products"]["items"][0]["priceMinor"] == 777

    await warm()
    await c.put(f"/api/admin/products/{p['id']}/stock", json={"stockQty": 42}, headers=ADMIN)
    assert (await _gql(c, PRODUCT_Q, s=slug))["product"]["stockQty"] == 42
    assert (await rest_list_item(cat["slug"]))["stockQty"] == 42

    await warm()
    await c.post(f"/api/admin/products/{p['id']}/stock-adjustments", json={"delta": -2}, headers=ADMIN)
    assert (await _gql(c, PRODUCT_Q, s=slug))["product"]["stockQty"] == 40
    assert (await rest_list_item(None))["stockQty"] == 40

    # Rename and move: the old slug is gone at once, the old category's list drops it, the new one has it.
    await warm()
    other = await shop.category()
    await c.get("/api/products", params={"category": other["slug"]})
    new_slug = uniq("renamed")
    r = await c.patch(f"/api/admin/products/{p['id']}", json={"slug": new_slug, "categoryId": other["id"]},
                      headers=ADMIN)
    assert r.status == 200
    assert (await c.get(f"/api/products/{slug}")).status == 404
    assert (await _gql(c, PRODUCT_Q, s=slug))["product"] is None
    assert (await _gql(c, PRODUCT_Q, s=new_slug))["product"]["categorySlug"] == other["slug"]
    assert await rest_list_item(cat["slug"]) is None
    assert (await rest_list_item(other["slug"]))["slug"] == new_slug
    slug, cat = new_slug, other

    # Renaming the category changes categorySlug on its products and in the category list.
    await warm()
    await c.get("/api/categories")
    cat_slug = uniq("cat-renamed")
    await c.patch(f"/api/admin/categories/{cat['id']}", json={"slug": cat_slug}, headers=ADMIN)
    assert (await _gql(c, PRODUCT_Q, s=slug))["product"]["categorySlug"] == cat_slug
    assert cat_slug in [x["slug"] for x in await (await c.get("/api/categories")).json()]
    assert (await c.get("/api/products", params={"category": cat["slug"]})).status == 404
    assert (await rest_list_item(cat_slug))["categorySlug"] == cat_slug

    # Delete: gone from the product entry and from the lists.
    await warm_after_rename(c, slug, cat_slug)
    await c.delete(f"/api/admin/products/{p['id']}", headers=ADMIN)
    assert (await c.get(f"/api/products/{slug}")).status == 404
    assert await rest_list_item(cat_slug) is None
    assert await rest_list_item(None) is None


async def warm_after_rename(c, slug: str, cat_slug: str) -> None:
    await c.get(f"/api/products/{slug}")
    await c.get("/api/products", params={"category": cat_slug})
    await c.get("/api/products", params={"pageSize": "100"})


async def test_new_categories_and_products_appear_in_cached_lists_at_once(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    await c.get("/api/categories")
    cat = await shop.category()
    assert cat in await (await c.get("/api/categories")).json()
    await c.get("/api/products", params={"category": cat["slug"]})
    await c.get("/api/products")
    p = await shop.product(cat)
    listed = (await (await c.get("/api/products", params={"category": cat["slug"]})).json())["items"]
    assert [i["id"] for i in listed] == [p["id"]]
    assert p["id"] in [i["id"] for i in (await (await c.get("/api/products")).json())["items"]]


async def test_invalidation_reaches_a_second_instance(catalog_client):
    a = await catalog_client()
    b = await catalog_client()
    shop = Shop(a)
    cat = await shop.category()
    p = await shop.product(cat, priceMinor=100)
    for _ in range(2):  # B holds the product and the list in its local cache
        await _product(b, p["slug"])
        await b.get("/api/products", params={"category": cat["slug"]})
    assert (await b.get(f"/api/products/{p['slug']}")).headers["X-Cache"] == "local"
    r = await a.put(f"/api/admin/products/{p['id']}/price", json={"priceMinor": 555, "currency": "EUR"}, headers=ADMIN)
    assert r.status == 200
    # Redis is already clean; B's local copy goes when the pub/sub message arrives (milliseconds).
    for _ in range(200):
        body = await (await b.get(f"/api/products/{p['slug']}")).json()
        items = (await (await b.get("/api/products", params={"category": cat["slug"]})).json())["items"]
        if body["priceMinor"] == 555 and items[0]["priceMinor"] == 555:
            break
        await asyncio.sleep(0.01)
    assert body["priceMinor"] == 555
    assert items[0]["priceMinor"] == 555


async def test_a_failed_write_invalidates_nothing(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    p = await shop.product(await shop.category())
    await _product(c, p["slug"])
    r = await c.put(f"/api/admin/products/{p['id']}/price", json={"priceMinor": 1, "currency": "ABC"}, headers=ADMIN)
    assert r.status == 400
    assert (await _product(c, p["slug"]))[1] == "local"
