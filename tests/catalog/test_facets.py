"""Filters (price, stock, options) and facets on GET /api/products and GraphQL products."""

from __future__ import annotations

from typing import Any

from tests.catalog.conftest import ADMIN, Shop, uniq


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _shelf(c: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """One category: a tee (S Navy 15.00 x4, M Navy 17.00 x0, M Sand 14.00 x7), a mug (9.00 x0), a cap (25.00 x3)."""
    shop = Shop(c)
    cat = await shop.category()
    tee = await shop.product(cat, name="Tee", priceMinor=1500, stockQty=4)
    await _ok(await c.patch(f"/api/admin/variants/{tee['id']}", json={"options": {"size": "S", "colour": "Navy"}},
                            headers=ADMIN))
    for opts, price, stock in (({"size": "M", "colour": "Navy"}, 1700, 0), ({"size": "M", "colour": "Sand"}, 1400, 7)):
        body = {"sku": uniq("TEE"), "options": opts, "priceMinor": price, "currency": "EUR", "stockQty": stock}
        await _ok(await c.post(f"/api/admin/products/{tee['id']}/variants", json=body, headers=ADMIN), 201)
    mug = await shop.product(cat, name="Mug", priceMinor=900, stockQty=0)
    cap = await shop.product(cat, name="Cap", priceMinor=2500, stockQty=3)
    return cat, {"tee": tee, "mug": mug, "cap": cap}


async def _list(c: Any, cat: dict[str, Any], query: str = "") -> dict[str, Any]:
    return await _ok(await c.get(f"/api/products?category={cat['slug']}&pageSize=50{query}"))  # type: ignore[no-any-return]


def _names(page: dict[str, Any]) -> set[str]:
    return {i["name"] for i in page["items"]}


def _options(page: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {o["name"]: {v["value"]: v["count"] for v in o["values"]} for o in page["facets"]["options"]}


async def test_facets_without_filters_count_the_whole_category(catalog_client):
    c = await catalog_client()
    cat, _ = await _shelf(c)
    page = await _list(c, cat)
    assert page["total"] == 3 and _names(page) == {"Tee", "Mug", "Cap"}
    assert page["facets"]["categories"] == [{"slug": cat["slug"], "count": 3}]
    assert _options(page) == {"colour": {"Navy": 1, "Sand": 1}, "size": {"M": 1, "S": 1}}
    assert page["facets"]["price"] == {"min": 900, "max": 2500, "currency": "EUR"}


async def test_in_stock_keeps_products_with_a_variant_in_stock_and_facets_follow(catalog_client):
    c = await catalog_client()
    cat, _ = await _shelf(c)
    page = await _list(c, cat, "&inStock=true")
    assert _names(page) == {"Tee", "Cap"} and page["total"] == 2
    assert _options(page) == {"colour": {"Navy": 1, "Sand": 1}, "size": {"M": 1, "S": 1}}
    assert page["facets"]["price"] == {"min": 1400, "max": 2500, "currency": "EUR"}
    page = await _list(c, cat, "&inStock=false")  # false filters nothing
    assert page["total"] == 3


async def test_option_filters_or_within_a_name_and_within_one_variant_across_names(catalog_client):
    c = await catalog_client()
    cat, _ = await _shelf(c)
    page = await _list(c, cat, "&option.size=M")
    assert _names(page) == {"Tee"}
    assert _options(page) == {"colour": {"Navy": 1, "Sand": 1}, "size": {"M": 1}}
    assert page["facets"]["price"] == {"min": 1400, "max": 1700, "currency": "EUR"}
    page = await _list(c, cat, "&option.size=M&inStock=true")
    assert _options(page) == {"colour": {"Sand": 1}, "size": {"M": 1}}  # M Navy is sold out
    assert page["facets"]["price"] == {"min": 1400, "max": 1400, "currency": "EUR"}
    page = await _list(c, cat, "&option.colour=Navy&option.colour=Sand")
    assert _names(page) == {"Tee"}
    # S exists and Sand exists, but no variant is both.
    page = await _list(c, cat, "&option.size=S&option.colour=Sand")
    assert page["total"] == 0 and page["items"] == []
    assert page["facets"] == {"categories": [], "options": [], "price": None}
    page = await _list(c, cat, "&option.material=Wool")
    assert page["total"] == 0


async def test_price_range_matches_any_variant_in_range_and_sorts_by_the_lowest_price(catalog_client):
    c = await catalog_client()
    cat, _ = await _shelf(c)
    page = await _list(c, cat, "&minPrice=1000&maxPrice=1600")
    assert _names(page) == {"Tee"}
    assert page["facets"]["price"] == {"min": 1400, "max": 1500, "currency": "EUR"}
    page = await _list(c, cat, "&minPrice=1000&sort=price_desc")
    assert [i["name"] for i in page["items"]] == ["Cap", "Tee"]
    page = await _list(c, cat, "&maxPrice=899")
    assert page["total"] == 0
    page = await _list(c, cat, "&sort=price_asc")
    assert [i["priceMinor"] for i in page["items"]] == [900, 1400, 2500]


async def test_price_facet_is_null_when_matches_are_priced_in_several_currencies(catalog_client):
    c = await catalog_client()
    shop = Shop(c)
    cat = await shop.category()
    await shop.product(cat, priceMinor=100, currency="EUR")
    await shop.product(cat, priceMinor=100, currency="JPY")
    page = await _list(c, cat)
    assert page["facets"]["price"] is None
    assert await _list(c, cat, "&facets=false") == {**page, "facets": None}


async def test_filtered_lists_are_cached_under_a_canonical_key_and_invalidated_by_variant_writes(catalog_client):
    c = await catalog_client()
    cat, products = await _shelf(c)
    a = await c.get(f"/api/products?category={cat['slug']}&option.size=M&inStock=true&option.colour=Sand")
    assert a.headers["X-Cache"] == "miss"
    b = await c.get(f"/api/products?option.colour=Sand&inStock=true&category={cat['slug']}&option.size=M")
    assert b.headers["X-Cache"] in ("local", "redis")
    assert await a.read() == await b.read()
    # The last M Sand is sold out by the admin: the cached filtered page must not survive.
    tee = await _ok(await c.get(f"/api/products/{products['tee']['slug']}"))
    m_sand = next(v for v in tee["variants"] if v["options"] == {"size": "M", "colour": "Sand"})
    await _ok(await c.put(f"/api/admin/variants/{m_sand['id']}/stock", json={"stockQty": 0}, headers=ADMIN))
    r = await c.get(f"/api/products?category={cat['slug']}&option.size=M&inStock=true&option.colour=Sand")
    assert r.headers["X-Cache"] == "miss"
    assert (await r.json())["total"] == 0


async def test_bad_filters_are_400_naming_the_parameter(catalog_client):
    c = await catalog_client()
    cases = [
        ("minPrice=-1", "minPrice"), ("minPrice=abc", "minPrice"), ("maxPrice=1e3", "maxPrice"),
        ("inStock=maybe", "inStock"), ("option.=x", "options[0].name"), ("option.size=", "options[0].value"),
        ("option." + "n" * 51 + "=x", "options[0].name"), ("displayCurrency=eur", "displayCurrency"),
        ("displayCurrency=XYZ", "displayCurrency"), ("facets=nope", "facets"),
        ("&".join(f"option.o{i}=v" for i in range(21)), "options"),
    ]
    for query, field in cases:
        r = await c.get(f"/api/products?{query}")
        assert r.status == 400, (query, await r.text())
        body = await r.json()
        assert body["code"] == "INVALID_ARGUMENT"
        assert field in [e["field"] for e in body["errors"]], (query, body)


async def test_display_currency_without_the_wallet_plugin_is_a_clear_400(catalog_client):
    c = await catalog_client()
    r = await c.get("/api/products?displayCurrency=EUR")
    assert r.status == 400
    body = await r.json()
    assert body["reason"] == "CURRENCY_MISMATCH" and body["errors"][0]["field"] == "displayCurrency"


async def test_graphql_filters_and_facets_equal_rest(catalog_client):
    c = await catalog_client()
    cat, _ = await _shelf(c)
    q = """query($c: String) { products(categorySlug: $c, pageSize: 50, inStock: true, minPrice: 1000,
             options: [{name: "size", value: "M"}, {name: "size", value: "S"}]) {
               total items { name priceMinor stockQty options { name values } }
               facets { categories { slug count } options { name values { value count } }
                        price { min max currency } } } }"""
    body = await _ok(await c.post("/graphql", json={"query": q, "variables": {"c": cat["slug"]}}))
    assert "errors" not in body, body
    got = body["data"]["products"]
    rest = await _list(c, cat, "&inStock=true&minPrice=1000&option.size=M&option.size=S")
    assert got["total"] == rest["total"] == 1
    assert got["facets"] == rest["facets"]
    assert got["items"] == [{k: i[k] for k in ("name", "priceMinor", "stockQty", "options")} for i in rest["items"]]
