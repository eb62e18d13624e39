"""Public reads: categories, pages of products, search, sort, product by slug."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import Shop


async def _page(client, **params):
    r = await client.get("/api/products", params=params)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_categories_are_a_bare_array_of_id_slug_name(catalog_client):
    c = await catalog_client()
    cat = await Shop(c).category(name="Lamps")
    r = await c.get("/api/categories")
    assert r.status == 200
    body = await r.json()
    assert isinstance(body, list)
    assert {"id": cat["id"], "slug": cat["slug"], "name": "Lamps"} in body


async def test_product_by_slug_has_the_spec_fields_and_unknown_slug_is_404(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat, priceMinor=500, currency="JPY", stockQty=3)
    r = await c.get(f"/api/products/{p['slug']}")
    assert r.status == 200
    body = await r.json()
    # The seed shape, unchanged for old clients; catalog v2 only adds fields.
    assert set(body) >= {"id", "slug", "name", "description", "categoryId", "categorySlug", "priceMinor",
                         "currency", "stockQty"}
    assert set(body) - {"id", "slug", "name", "description", "categoryId", "categorySlug", "priceMinor",
                        "currency", "stockQty"} == {"options", "variants", "images", "displayPriceMinor",
                                                    "displayCurrency"}
    assert body["images"] == []
    assert (body["categorySlug"], body["priceMinor"], body["currency"], body["stockQty"]) == (cat["slug"], 500, "JPY", 3)
    r = await c.get("/api/products/no-such-product")
    assert r.status == 404
    assert (await r.json())["code"] == "NOT_FOUND"


async def test_graphql_product_is_null_for_an_unknown_slug(catalog_client):
    c = await catalog_client()
    r = await c.post("/graphql", json={"query": '{ product(slug: "no-such-thing") { id } }'})
    body = await r.json()
    assert body == {"data": {"product": None}}


async def test_pages_partition_the_category_and_a_page_past_the_end_is_empty(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    made = {(await shop.product(cat))["slug"] for _ in range(5)}
    seen: list[str] = []
    for page in (1, 2, 3):
        body = await _page(c, category=cat["slug"], page=page, pageSize=2)
        assert (body["page"], body["pageSize"], body["total"]) == (page, 2, 5)
        seen += [p["slug"] for p in body["items"]]
    assert len(seen) == 5 and set(seen) == made
    past = await _page(c, category=cat["slug"], page=4, pageSize=2)
    assert {k: past[k] for k in ("items", "page", "pageSize", "total", "totalExact")} == {
        "items": [], "page": 4, "pageSize": 2, "total": 5, "totalExact": True}


async def test_default_page_is_1_of_20(catalog_client):
    c = await catalog_client()
    body = await _page(c)
    assert (body["page"], body["pageSize"]) == (1, 20)


@pytest.mark.parametrize("params, field", [
    ({"pageSize": "101"}, "pageSize"),
    ({"pageSize": "0"}, "pageSize"),
    ({"page": "0"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "two"}, "page"),
    ({"pageSize": "1e3"}, "pageSize"),
    ({"sort": "cheapest"}, "sort"),
    ({"search": "x" * 201}, "search"),
    ({"search": "nul\x00byte"}, "search"),
    ({"bogus": "1"}, "bogus"),
])
async def test_bad_list_parameters_are_400_naming_the_field(catalog_client, params, field):
    c = await catalog_client()
    r = await c.get("/api/products", params=params)
    assert r.status == 400, await r.text()
    body = await r.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert field in [e["field"] for e in body["errors"]]


async def test_graphql_page_size_over_100_is_invalid_argument(catalog_client):
    c = await catalog_client()
    r = await c.post("/graphql", json={"query": "{ products(pageSize: 101) { total } }"})
    body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert body["errors"][0]["extensions"]["errors"][0]["field"] == "pageSize"


async def test_unknown_category_is_404_not_an_empty_page(catalog_client):
    c = await catalog_client()
    r = await c.get("/api/products", params={"category": "no-such-category"})
    assert r.status == 404
    # The spec's name `category` and the field name `categorySlug` are the same filter.
    r = await c.get("/api/products", params={"categorySlug": "no-such-category"})
    assert r.status == 404


async def test_search_ranks_name_matches_above_description_matches_and_stems(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    towel = await shop.product(cat, name="Tea Towel", description="Goes well with a kettle.")
    kettle = await shop.product(cat, name="Copper Kettle", description="Boils water fast.")
    await shop.product(cat, name="Oak Spoon", description="Stirs soup.")
    body = await _page(c, category=cat["slug"], search="kettles")  # stemmed: kettles -> kettl
    assert [p["slug"] for p in body["items"]] == [kettle["slug"], towel["slug"]]
    assert body["total"] == 2


async def test_short_queries_match_name_prefixes(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    spoon = await shop.product(cat, name="Oak Spoon")
    await shop.product(cat, name="Copper Kettle")
    body = await _page(c, category=cat["slug"], search="oa")
    assert [p["slug"] for p in body["items"]] == [spoon["slug"]]


async def test_search_wildcards_are_literal(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    await shop.product(cat, name="Oak Spoon")
    for term in ("%", "_", "%a", "\\"):
        body = await _page(c, category=cat["slug"], search=term)
        assert body["total"] == 0, term


HOSTILE = [
    "'", '"', "\\", "' OR 1=1 --", "'; DROP TABLE catalog_product; --", '"unterminated', "a & | ! : * ( )",
    "&|!:*()", "!!!", "<->", "kettle:*", "(((", "😀🔥", "Ünïcödé straße", "x" * 200, "   ", "-", "or", "\u200b",
]


@pytest.mark.parametrize("term", HOSTILE)
async def test_hostile_search_strings_never_fail(catalog_client, term):
    c = await catalog_client()
    r = await c.get("/api/products", params={"search": term, "pageSize": "5"})
    assert r.status == 200, await r.text()
    body = await r.json()
    assert set(body) == {"items", "page", "pageSize", "total", "totalExact", "facets", "unconvertedCurrencies"}
    r = await c.post("/graphql", json={"query": "query($s: String) { products(search: $s) { total } }",
                                       "variables": {"s": term}})
    assert "errors" not in await r.json()


async def test_catalog_survives_a_sql_injection_attempt(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat)
    await _page(c, search="'; DELETE FROM catalog_product; --")
    assert (await c.get(f"/api/products/{p['slug']}")).status == 200


@pytest.mark.parametrize("sort, key, reverse", [
    ("price_asc", "priceMinor", False), ("price_desc", "priceMinor", True), ("name", "name", False),
])
async def test_sorts_order_the_page(catalog_client, sort, key, reverse):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    for name, price in (("Bowl", 300), ("Apron", 900), ("Cup", 100)):
        await shop.product(cat, name=name, priceMinor=price)
    items = (await _page(c, category=cat["slug"], sort=sort))["items"]
    values = [i[key] for i in items]
    assert values == sorted(values, reverse=reverse)


async def test_newest_first_by_default(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    first = await shop.product(cat)
    second = await shop.product(cat)
    items = (await _page(c, category=cat["slug"]))["items"]
    assert [i["slug"] for i in items] == [second["slug"], first["slug"]]


async def test_graphql_products_has_the_rest_page_shape(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    p = await shop.product(cat)
    q = """query($c: String) { products(categorySlug: $c, page: 1, pageSize: 5) {
             items { id slug name description categoryId categorySlug priceMinor currency stockQty
                     images { id url alt width height contentType renditions { url width height contentType } } }
             page pageSize total totalExact } categories { id slug name } }"""
    body = await (await c.post("/graphql", json={"query": q, "variables": {"c": cat["slug"]}})).json()
    rest = await _page(c, category=cat["slug"], pageSize=5)
    fields = ("id", "slug", "name", "description", "categoryId", "categorySlug", "priceMinor", "currency", "stockQty",
              "images")
    rest = {"items": [{k: i[k] for k in fields} for i in rest["items"]],
            **{k: rest[k] for k in ("page", "pageSize", "total", "totalExact")}}
    assert body["data"]["products"] == rest
    assert body["data"]["products"]["items"][0]["id"] == p["id"]
    assert cat in body["data"]["categories"]
