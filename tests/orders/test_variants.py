"""Cart lines, checkout and cancel per variant; the last units of one variant under concurrency; display prices."""

from __future__ import annotations

import asyncio
import itertools
from fractions import Fraction
from typing import Any

import pytest

from kernel.core import iso4217
from kernel.core.context import CallContext
from kernel.core.status import BusError
from plugins.catalog.contract import (
    Catalog,
    CreateVariant,
    GetProductsByIds,
    Product,
    SetPrice,
    UpdateProduct,
    UpdateVariant,
)
from plugins.orders.contract import AddToCart, CancelOrder, Checkout, Orders
from plugins.wallet.contract import ConvertAmount, GetRates, Wallets
from plugins.wallet.ledger import verify
from tests.support.fake_identity import ALL_USER_SCOPES, principal_header

from .shop import ADMIN, Shop, new_user, user_ctx

ADMIN_H = principal_header("admin-1", roles=("admin",), scopes=(*ALL_USER_SCOPES, "admin"))
_n = itertools.count()


async def _tee(shop: Shop, *, m_stock: int = 5, price: int = 2000, currency: str = "EUR") -> tuple[Product, str, str]:
    """A product with variants S (its default, stock 10) and M (``m_stock``, price + 200); (product, S id, M id)."""
    admin = CallContext(principal=ADMIN)
    p = await shop.product(price=price, currency=currency, stock=10)
    await shop.bus.call(Catalog.update_variant, UpdateVariant(id=p.id, options={"size": "S"}), admin)
    m = await shop.bus.call(Catalog.create_variant, CreateVariant(
        product_id=p.id, sku=f"TEE-M-{next(_n)}-{p.id[:8]}", options={"size": "M"}, price_minor=price + 200,
        currency=currency, stock_qty=m_stock), admin)
    return p, p.id, m.id


async def _variant_stock(shop: Shop, product_id: str) -> dict[str, int]:
    found = await shop.bus.call(Catalog.get_products_by_ids, GetProductsByIds(ids=(product_id,)),
                                CallContext().nested())
    return {v.id: v.stock_qty for v in found.items[0].variants}


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_a_product_with_variants_needs_a_variant_id_in_the_cart(shop: Shop) -> None:
    p, s_id, m_id = await _tee(shop)
    h = principal_header(new_user())
    c = shop.client
    r = await c.post("/api/cart/items", json={"productId": p.id, "qty": 1}, headers=h)
    assert r.status == 400
    body = await r.json()
    assert body["reason"] == "VARIANT_REQUIRED" and [e["field"] for e in body["errors"]] == ["variantId"]
    cart = await _ok(await c.post("/api/cart/items", json={"productId": p.id, "variantId": m_id, "qty": 2}, headers=h))
    assert cart["items"] == [{"productId": p.id, "slug": p.slug, "name": p.name, "qty": 2, "unitPriceMinor": 2200,
                              "currency": "EUR", "lineTotalMinor": 4400, "variantId": m_id,
                              "sku": cart["items"][0]["sku"], "options": {"size": "M"}}]
    cart = await _ok(await c.post("/api/cart/items", json={"productId": p.id, "variantId": s_id, "qty": 1}, headers=h))
    assert [(i["variantId"], i["qty"]) for i in cart["items"]] == [(m_id, 2), (s_id, 1)]
    assert cart["totals"] == [{"currency": "EUR", "amountMinor": 4400 + 2000}]
    # The product-addressed PUT cannot tell which line is meant; the variant-addressed one can.
    r = await c.put(f"/api/cart/items/{p.id}", json={"qty": 3}, headers=h)
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "variantId"
    cart = await _ok(await c.put(f"/api/cart/variants/{m_id}", json={"qty": 5}, headers=h))
    assert [(i["variantId"], i["qty"]) for i in cart["items"]] == [(m_id, 5), (s_id, 1)]
    cart = await _ok(await c.delete(f"/api/cart/variants/{s_id}", headers=h))
    assert [i["variantId"] for i in cart["items"]] == [m_id]
    cart = await _ok(await c.put(f"/api/cart/variants/{m_id}", json={"qty": 0}, headers=h))
    assert cart["items"] == []
    # DELETE by product removes every line of it.
    for vid in (s_id, m_id):
        await _ok(await c.put(f"/api/cart/variants/{vid}", json={"qty": 1}, headers=h))
    assert (await _ok(await c.delete(f"/api/cart/items/{p.id}", headers=h)))["items"] == []


async def test_unknown_or_foreign_variants_are_not_found(shop: Shop) -> None:
    p, _s, _m = await _tee(shop)
    other = await shop.product(price=100)
    h = principal_header(new_user())
    c = shop.client
    for body in ({"productId": p.id, "variantId": other.id, "qty": 1},
                 {"productId": p.id, "variantId": "00000000-0000-4000-8000-000000000000", "qty": 1},
                 {"productId": p.id, "variantId": "nope", "qty": 1}):
        r = await c.post("/api/cart/items", json=body, headers=h)
        assert r.status == 404 and (await r.json())["errors"][0]["field"] == "variantId"
    r = await c.put("/api/cart/variants/nope", json={"qty": 1}, headers=h)
    assert r.status == 404
    assert (await _ok(await c.delete("/api/cart/variants/nope", headers=h)))["items"] == []


async def test_single_variant_products_keep_the_seed_cart_flow(shop: Shop) -> None:
    p = await shop.product(price=300)
    h = principal_header(new_user())
    c = shop.client
    await _ok(await c.post("/api/cart/items", json={"productId": p.id, "qty": 1}, headers=h))
    cart = await _ok(await c.put(f"/api/cart/items/{p.id}", json={"qty": 4}, headers=h))
    assert [(i["productId"], i["variantId"], i["sku"], i["qty"]) for i in cart["items"]] == [(p.id, p.id, p.slug, 4)]
    # The same line is also addressable by its variant.
    cart = await _ok(await c.put(f"/api/cart/variants/{p.id}", json={"qty": 2}, headers=h))
    assert cart["items"][0]["qty"] == 2


async def test_checkout_takes_stock_from_the_variant_bought_and_cancel_puts_it_back(shop: Shop) -> None:
    p, s_id, m_id = await _tee(shop, m_stock=5)
    user = new_user()
    await shop.top_up(user, "EUR", 100_000)
    await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=m_id, qty=2), user_ctx(user))
    await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=s_id, qty=1), user_ctx(user))
    order = await shop.bus.call(Orders.checkout, Checkout(wallet_currency="EUR"), user_ctx(user, "v1"))
    assert order.total_minor == 2 * 2200 + 2000
    assert [(i.variant_id, i.options, i.qty, i.unit_price_minor) for i in order.items] == [
        (m_id, {"size": "M"}, 2, 2200), (s_id, {"size": "S"}, 1, 2000)]
    assert order.items[1].sku == p.slug
    assert await _variant_stock(shop, p.id) == {s_id: 9, m_id: 3}
    # Order history over REST shows the variant too.
    got = await _ok(await shop.client.get(f"/api/orders/{order.id}", headers=principal_header(user)))
    assert got["items"][0]["variantId"] == m_id and got["items"][0]["options"] == {"size": "M"}
    await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user, "c1"))
    assert await _variant_stock(shop, p.id) == {s_id: 10, m_id: 5}


async def test_out_of_stock_names_the_variant_and_moves_nothing(shop: Shop) -> None:
    p, s_id, m_id = await _tee(shop, m_stock=1)
    user = new_user()
    await shop.top_up(user, "EUR", 100_000)
    await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=s_id, qty=1), user_ctx(user))
    await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=m_id, qty=2), user_ctx(user))
    with pytest.raises(BusError) as err:
        await shop.bus.call(Orders.checkout, Checkout(wallet_currency="EUR"), user_ctx(user))
    assert err.value.reason == "OUT_OF_STOCK" and "SKU" in err.value.public_message
    assert await _variant_stock(shop, p.id) == {s_id: 10, m_id: 1}
    assert await shop.balance(user, "EUR") == 100_000


@pytest.mark.slow
async def test_concurrent_checkouts_of_the_last_units_of_one_variant_sell_exactly_the_stock(shop: Shop) -> None:
    p, s_id, m_id = await _tee(shop, m_stock=3)
    users = [new_user() for _ in range(24)]
    for u in users:
        await shop.top_up(u, "EUR", 10_000)
        # Everyone wants an M; half also want an S (overlapping lines lock in one order: no deadlock).
        await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=m_id, qty=1), user_ctx(u))
        if users.index(u) % 2:
            await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=s_id, qty=1), user_ctx(u))
    start = asyncio.Event()

    async def buy(u: str) -> Any:
        await start.wait()
        return await shop.bus.call(Orders.checkout, Checkout(wallet_currency="EUR"), user_ctx(u))

    tasks = [asyncio.create_task(buy(u)) for u in users]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 3, [repr(r) for r in losers if not (isinstance(r, BusError) and r.reason)][:3]
    assert all(isinstance(r, BusError) and r.reason == "OUT_OF_STOCK" for r in losers)
    s_sold = sum(1 for o in winners if any(i.variant_id == s_id for i in o.items))
    assert await _variant_stock(shop, p.id) == {m_id: 0, s_id: 10 - s_sold}
    assert await shop.count("SELECT coalesce(sum(qty), 0) FROM orders_order_item WHERE variant_id = $1", m_id) == 3
    assert await verify(shop.rt.db) == []


@pytest.mark.slow
async def test_admin_variant_writes_interleaved_with_checkouts_neither_deadlock_nor_oversell(shop: Shop) -> None:
    """Admin writes lock product then variants, reservations variants only: no lock cycle is possible."""
    from plugins.catalog.contract import SetVariantPrice, SetVariantStock

    p, s_id, m_id = await _tee(shop, m_stock=4)
    admin = CallContext(principal=ADMIN)
    users = [new_user() for _ in range(12)]
    for i, u in enumerate(users):
        await shop.top_up(u, "EUR", 100_000)
        await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=(m_id, s_id)[i % 2], qty=1),
                            user_ctx(u))
        await shop.bus.call(Orders.add_to_cart, AddToCart(product_id=p.id, variant_id=(s_id, m_id)[i % 2], qty=1),
                            user_ctx(u))
    start = asyncio.Event()

    async def buy(u: str) -> Any:
        await start.wait()
        # The short-lock checkout prices before it takes stock: a price changed in between is
        # PRICE_CHANGED (nothing taken, nothing paid), and the shopper tries again. The 12 repricings end.
        for _ in range(30):
            try:
                return await shop.bus.call(Orders.checkout, Checkout(wallet_currency="EUR"), user_ctx(u))
            except BusError as exc:
                if exc.reason != "PRICE_CHANGED":
                    raise
        raise AssertionError("still PRICE_CHANGED after the repricing ended")

    async def reprice(n: int) -> Any:
        await start.wait()
        vid = (s_id, m_id)[n % 2]
        await shop.bus.call(Catalog.set_variant_price, SetVariantPrice(id=vid, price_minor=2000 + n, currency="EUR"),
                            admin)
        if vid == s_id:  # restocking S never touches M's count
            await shop.bus.call(Catalog.set_variant_stock, SetVariantStock(id=vid, stock_qty=50), admin)

    tasks = [asyncio.create_task(buy(u)) for u in users] + [asyncio.create_task(reprice(n)) for n in range(12)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, BusError) and r.reason == "OUT_OF_STOCK" for r in failures), failures[:3]
    orders = [r for r in results[:len(users)] if not isinstance(r, BaseException)]
    assert len(orders) == 4  # every order holds one M; there were four
    stock = await _variant_stock(shop, p.id)
    assert stock[m_id] == 0 and stock[s_id] >= 0
    assert await verify(shop.rt.db) == []


async def test_graphql_cart_parity_for_variants(shop: Shop) -> None:
    p, _s, m_id = await _tee(shop)
    h = principal_header(new_user())
    line = "items { productId variantId sku qty unitPriceMinor options { name value } }"

    async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = await _ok(await shop.client.post("/graphql", json={"query": query, "variables": variables}, headers=h))
        assert "errors" not in body, body
        return dict(body["data"])

    data = await gql(f"mutation($p: ID!, $v: ID) {{ addToCart(productId: $p, qty: 2, variantId: $v) {{ {line} }} }}",
                     {"p": p.id, "v": m_id})
    assert data["addToCart"]["items"][0]["options"] == [{"name": "size", "value": "M"}]
    data = await gql(f"mutation($v: ID!) {{ setCartVariant(variantId: $v, qty: 4) {{ {line} }} }}", {"v": m_id})
    assert data["setCartVariant"]["items"][0]["qty"] == 4
    rest = await _ok(await shop.client.get("/api/cart", headers=h))
    assert [(i["variantId"], i["sku"], i["qty"]) for i in rest["items"]] == [
        (i["variantId"], i["sku"], i["qty"]) for i in data["setCartVariant"]["items"]]
    data = await gql(f"mutation($v: ID!) {{ removeCartVariant(variantId: $v) {{ {line} }} }}", {"v": m_id})
    assert data["removeCartVariant"]["items"] == []


# ----------------------------------------------------------------- display currency


async def test_the_sql_conversion_equals_the_wallets_for_every_amount_including_ties(shop: Shop) -> None:
    """catalog_convert_half_even (used to sort and filter) and Wallets.convert (used by checkout) agree."""
    ctx = CallContext().nested()
    for src, dst in (("EUR", "USD"), ("USD", "JPY"), ("JPY", "EUR"), ("EUR", "BHD"), ("USD", "EUR")):
        rates = await shop.bus.call(Wallets.rates_into, GetRates(to_currency=dst), ctx)
        rate = next(Fraction(r.numerator, r.denominator) for r in rates.rates if r.from_currency == src)
        factor = rate * 10 ** iso4217.EXPONENTS[dst] / 10 ** iso4217.EXPONENTS[src]
        amounts = [*range(2001), 2**31 - 1, 10**12 + 5]
        sql = await shop.rt.db.fetch(
            "SELECT a, catalog_convert_half_even(a, $2, $3) AS c FROM unnest($1::bigint[]) AS a",
            amounts, factor.numerator, factor.denominator)
        for row in sql:
            want = await shop.bus.call(Wallets.convert, ConvertAmount(amount_minor=row["a"], from_currency=src,
                                                                      to_currency=dst), ctx)
            assert row["c"] == want.amount_minor, (src, dst, row["a"])


async def _category_page(shop: Shop, slug: str, query: str) -> dict[str, Any]:
    return await _ok(await shop.client.get(f"/api/products?category={slug}&pageSize=50{query}"))  # type: ignore


async def test_display_prices_are_what_checkout_charges_and_sort_and_filter_by_them(shop: Shop) -> None:
    admin = CallContext(principal=ADMIN)
    eur = await shop.product(price=1000, currency="EUR", stock=5)  # 10.87 USD
    # Three products in one category, priced in three currencies.
    jpy = await shop.product(price=1500, currency="JPY", stock=5)  # 10.10 USD (0.00673 * 1500 = 10.095 -> 10.10)
    usd = await shop.product(price=1050, currency="USD", stock=5)
    for p in (jpy, usd):
        await shop.bus.call(Catalog.update_product, UpdateProduct(id=p.id, category_id=eur.category_id), admin)
    slug = eur.category_slug
    page = await _category_page(shop, slug, "&displayCurrency=USD&sort=price_asc")
    got = [(i["id"], i["displayPriceMinor"], i["displayCurrency"]) for i in page["items"]]
    assert got == [(jpy.id, 1010, "USD"), (usd.id, 1050, "USD"), (eur.id, 1087, "USD")]
    assert page["facets"]["price"] == {"min": 1010, "max": 1087, "currency": "USD"}
    page = await _category_page(shop, slug, "&displayCurrency=USD&sort=price_desc")
    assert [i["id"] for i in page["items"]] == [eur.id, usd.id, jpy.id]
    page = await _category_page(shop, slug, "&displayCurrency=USD&minPrice=1011&maxPrice=1086")
    assert [i["id"] for i in page["items"]] == [usd.id]
    assert page["facets"]["price"] == {"min": 1050, "max": 1050, "currency": "USD"}
    page = await _category_page(shop, slug, "&displayCurrency=USD&minPrice=1088")
    assert page["total"] == 0 and page["facets"]["price"] is None
    # Without displayCurrency nothing is converted and the fields are null.
    page = await _category_page(shop, slug, "")
    assert {i["displayPriceMinor"] for i in page["items"]} == {None}
    # The shopper pays in USD exactly what was displayed.
    user = new_user()
    await shop.top_up(user, "USD", 100_000)
    for p in (eur, jpy, usd):
        await shop.add(user, p.id, 1)
    order = await shop.bus.call(Orders.checkout, Checkout(wallet_currency="USD"), user_ctx(user))
    assert {i.product_id: i.unit_price_minor for i in order.items} == {eur.id: 1087, jpy.id: 1010, usd.id: 1050}
    # GraphQL offers the same.
    q = """query($c: String) { products(categorySlug: $c, displayCurrency: "USD", sort: "price_asc") {
             items { id displayPriceMinor displayCurrency } } }"""
    body = await _ok(await shop.client.post("/graphql", json={"query": q, "variables": {"c": slug}}))
    assert [(i["id"], i["displayPriceMinor"]) for i in body["data"]["products"]["items"]] == [
        (jpy.id, 1010), (usd.id, 1050), (eur.id, 1087)]
    # One product too; its display entry is invalidated with the product.
    got = await _ok(await shop.client.get(f"/api/products/{eur.slug}?displayCurrency=USD"))
    assert (got["displayPriceMinor"], got["displayCurrency"], got["priceMinor"]) == (1087, "USD", 1000)
    await shop.bus.call(Catalog.set_price, SetPrice(id=eur.id, price_minor=2000, currency="EUR"), admin)
    r = await shop.client.get(f"/api/products/{eur.slug}?displayCurrency=USD")
    assert r.headers["X-Cache"] == "miss" and (await r.json())["displayPriceMinor"] == 2174
    body = await _ok(await shop.client.post("/graphql", json={
        "query": 'query($s: String!) { product(slug: $s, displayCurrency: "USD") { displayPriceMinor displayCurrency } }',
        "variables": {"s": eur.slug}}))
    # (USD and EUR: the default rates convert every currency into them, whatever other tests priced in.)
    assert body["data"]["product"] == {"displayPriceMinor": 2174, "displayCurrency": "USD"}


async def test_products_whose_currency_has_no_rate_show_no_display_price_and_the_list_still_answers(
        shop: Shop) -> None:
    """The default rates have EUR->GBP and USD->GBP but no JPY->GBP: JPY products keep their own price."""
    admin = CallContext(principal=ADMIN)
    eur = await shop.product(price=1000, currency="EUR", stock=5)  # 8.60 GBP
    jpy = await shop.product(price=1500, currency="JPY", stock=5)  # no rate
    usd = await shop.product(price=1050, currency="USD", stock=5)  # 8.295 -> 8.30 GBP (half to even)
    for p in (jpy, usd):
        await shop.bus.call(Catalog.update_product, UpdateProduct(id=p.id, category_id=eur.category_id), admin)
    slug = eur.category_slug
    page = await _category_page(shop, slug, "&displayCurrency=GBP&sort=price_asc")
    got = [(i["id"], i["displayPriceMinor"], i["displayCurrency"], i["priceMinor"], i["currency"])
           for i in page["items"]]
    # Asked for GBP: every product says so; the unconvertible one has no display price and sorts last.
    assert got == [(usd.id, 830, "GBP", 1050, "USD"), (eur.id, 860, "GBP", 1000, "EUR"),
                   (jpy.id, None, "GBP", 1500, "JPY")]
    assert "JPY" in page["unconvertedCurrencies"] and not {"EUR", "USD", "GBP"} & set(page["unconvertedCurrencies"])
    assert page["total"] == 3
    assert page["facets"]["price"] == {"min": 830, "max": 860, "currency": "GBP"}  # what can be shown in GBP
    page = await _category_page(shop, slug, "&displayCurrency=GBP&sort=price_desc")
    assert [i["id"] for i in page["items"]] == [eur.id, usd.id, jpy.id]  # last in both directions
    # A price in GBP cannot be compared for a product without a GBP price: price filters leave it out.
    page = await _category_page(shop, slug, "&displayCurrency=GBP&minPrice=0")
    assert {i["id"] for i in page["items"]} == {eur.id, usd.id} and page["total"] == 2
    # Without a price filter it is still listed, also on a relevance search (the bounded path).
    page = await _category_page(shop, slug, f"&displayCurrency=GBP&search={jpy.name.replace(' ', '+')}")
    assert {i["id"]: i["displayPriceMinor"] for i in page["items"]}.get(jpy.id, "absent") is None
    # One product alone: 200, the currency echoed, no display price.
    one = await _ok(await shop.client.get(f"/api/products/{jpy.slug}?displayCurrency=GBP"))
    assert (one["displayPriceMinor"], one["displayCurrency"], one["priceMinor"], one["currency"]) == (
        None, "GBP", 1500, "JPY")
    # GraphQL offers the same.
    q = """query($c: String) { products(categorySlug: $c, displayCurrency: "GBP", sort: "price_asc") {
             unconvertedCurrencies items { id displayPriceMinor displayCurrency } } }"""
    body = await _ok(await shop.client.post("/graphql", json={"query": q, "variables": {"c": slug}}))
    assert "JPY" in body["data"]["products"]["unconvertedCurrencies"]
    assert body["data"]["products"]["items"][-1] == {"id": jpy.id, "displayPriceMinor": None, "displayCurrency": "GBP"}
    # And checkout agrees: what has no GBP price cannot be paid from a GBP wallet.
    user = new_user()
    await shop.top_up(user, "GBP", 100_000)
    await shop.add(user, jpy.id, 1)
    with pytest.raises(BusError) as exc:
        await shop.bus.call(Orders.checkout, Checkout(wallet_currency="GBP"), user_ctx(user))
    assert exc.value.reason == "CURRENCY_MISMATCH"
    # Without displayCurrency nothing changes.
    page = await _category_page(shop, slug, "")
    assert page["unconvertedCurrencies"] == [] and {i["displayCurrency"] for i in page["items"]} == {None}


async def test_a_display_currency_the_shop_does_not_take_is_a_clear_400(shop: Shop) -> None:
    r = await shop.client.get("/api/products?displayCurrency=SEK")  # ISO 4217, but the shop does not take it
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "displayCurrency"
