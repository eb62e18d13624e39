"""The checkout quote: checkout's sums (subtotal, shipping, tax, total) before paying, with no side effects."""

from __future__ import annotations

from typing import Any

from tests.shipping.helpers import shopper, tax

from .shop import Shop, new_user
from .test_fulfilment import ADDRESS, _setup_de, _shop


async def test_the_quote_is_what_checkout_then_charges_and_moves_nothing(make_client: Any) -> None:
    shop: Shop = await _shop(make_client)
    method_id = await _setup_de(shop)
    user = new_user()
    p = await shop.product(price=1000, stock=7)
    await shop.top_up(user, "EUR", 100_000)
    await shop.add(user, p.id, 2)
    body = {"currency": "EUR", "shippingAddress": ADDRESS, "shippingMethodId": method_id}
    r = await shop.client.post("/api/orders/checkout/quote", json=body, headers=shopper(user))
    quote = await r.json()
    assert r.status == 200, quote
    assert (quote["subtotalMinor"], quote["shippingMinor"], quote["taxMinor"], quote["totalMinor"]) \
        == (2000, 490, 473, 2963)
    assert quote["taxRate"] == "19" and quote["taxInclusive"] is False and quote["shippingMethod"]["name"] == "DHL"
    # Nothing moved: stock, balance, cart and orders are as before.
    assert await shop.stock(p.id) == 7 and await shop.balance(user, "EUR") == 100_000
    orders = await (await shop.client.get("/api/orders", headers=shopper(user))).json()
    assert orders["total"] == 0
    cart = await (await shop.client.get("/api/cart", headers=shopper(user))).json()
    assert cart["items"][0]["qty"] == 2
    # The checkout then charges exactly the quoted total.
    r = await shop.client.post("/api/orders/checkout", headers=shopper(user), json={
        "walletCurrency": "EUR", "shippingAddress": ADDRESS, "shippingMethodId": method_id})
    assert (await r.json())["totalMinor"] == quote["totalMinor"]


async def test_the_quote_over_graphql_says_when_tax_is_included_and_refuses_bad_input(make_client: Any) -> None:
    shop: Shop = await _shop(make_client)
    method_id = await _setup_de(shop)
    await tax(shop.client, "DE", "19", inclusive=True)
    user = new_user()
    p = await shop.product(price=1190, stock=5)
    await shop.add(user, p.id, 1)
    q = await shop.client.post("/graphql", headers=shopper(user), json={
        "query": "query($a: ShippingAddressInput, $m: ID) { checkoutQuote(currency: \"EUR\", shippingAddress: $a, "
                 "shippingMethodId: $m) { subtotalMinor shippingMinor taxMinor totalMinor taxInclusive currency } }",
        "variables": {"a": ADDRESS, "m": method_id}})
    data = (await q.json())["data"]["checkoutQuote"]
    assert data == {"subtotalMinor": 1000, "shippingMinor": 412, "taxMinor": 268, "totalMinor": 1680,
                    "taxInclusive": True, "currency": "EUR"}
    bad = await shop.client.post("/api/orders/checkout/quote", json={"currency": "euro"}, headers=shopper(user))
    assert bad.status == 400 and (await bad.json())["errors"][0]["field"] == "currency"
    empty = await shop.client.post("/api/orders/checkout/quote", json={"currency": "EUR"},
                                   headers=shopper(new_user()))
    assert empty.status == 409 and (await empty.json())["reason"] == "CART_EMPTY"
