"""The orders REST routes and GraphQL fields: same bus methods, same answers, problem+json errors."""

from __future__ import annotations

from typing import Any

from tests.support.fake_identity import ALL_USER_SCOPES, principal_header

from .shop import GOOD_CARD, Shop, new_user

CARD = {"number": GOOD_CARD, "expMonth": 12, "expYear": 2099, "cvc": "123"}


async def gql(shop: Shop, user: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = await shop.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                  headers=principal_header(user))
    return dict(await resp.json())


async def test_rest_cart_checkout_history_and_cancel(shop: Shop) -> None:
    user = new_user()
    h = principal_header(user)
    p = await shop.product(price=250, stock=10)
    await shop.top_up(user, "EUR", 10_000)
    c = shop.client
    r = await c.post("/api/cart/items", json={"productId": p.id, "qty": 2}, headers=h)
    assert r.status == 200
    cart = await r.json()
    # The seed line shape, plus the variant (a product without options: its default variant, SKU = slug).
    assert cart["items"] == [{"productId": p.id, "slug": p.slug, "name": p.name, "qty": 2, "unitPriceMinor": 250,
                              "currency": "EUR", "lineTotalMinor": 500, "variantId": p.variants[0].id,
                              "sku": p.slug, "options": {}}]
    assert cart["totals"] == [{"currency": "EUR", "amountMinor": 500}]
    r = await c.put(f"/api/cart/items/{p.id}", json={"qty": 4}, headers=h)
    assert (await r.json())["items"][0]["qty"] == 4
    r = await c.get("/api/cart", headers=h)
    assert (await r.json())["totals"][0]["amountMinor"] == 1000

    r = await c.post("/api/orders/checkout", json={"walletCurrency": "EUR"}, headers={**h, "Idempotency-Key": "k1"})
    assert r.status == 201
    order = await r.json()
    assert {k: order[k] for k in ("status", "totalMinor", "currency", "paymentMethod")} == {
        "status": "paid", "totalMinor": 1000, "currency": "EUR", "paymentMethod": "wallet"}
    assert order["items"][0].items() >= {"productId": p.id, "qty": 4, "unitPriceMinor": 250, "currency": "EUR"}.items()
    r = await c.post("/api/orders/checkout", json={"walletCurrency": "EUR"}, headers={**h, "Idempotency-Key": "k1"})
    assert r.status == 201 and r.headers.get("Idempotent-Replayed") == "true" and await r.json() == order

    r = await c.get("/api/orders?page=1&pageSize=5", headers=h)
    page = await r.json()
    assert (page["total"], page["page"], page["pageSize"]) == (1, 1, 5) and page["items"][0]["id"] == order["id"]
    r = await c.get(f"/api/orders/{order['id']}", headers=h)
    assert (await r.json()) == order
    r = await c.post(f"/api/orders/{order['id']}/cancel", headers=h)
    assert r.status == 200 and (await r.json())["status"] == "refunded"
    r = await c.post(f"/api/orders/{order['id']}/cancel", headers=h)
    problem = await r.json()
    assert r.status == 409 and problem["reason"] == "ORDER_NOT_CANCELLABLE"
    assert await shop.balance(user, "EUR") == 10_000

    r = await c.delete(f"/api/cart/items/{p.id}", headers=h)
    assert (await r.json())["items"] == []


async def test_rest_refusals_are_problems_with_codes_and_fields(shop: Shop) -> None:
    user = new_user()
    h = principal_header(user)
    c = shop.client
    r = await c.post("/api/orders/checkout", json={"walletCurrency": "EUR"}, headers=h)
    body = await r.json()
    assert r.status == 409 and r.content_type == "application/problem+json"
    assert (body["code"], body["reason"]) == ("FAILED_PRECONDITION", "CART_EMPTY")
    r = await c.post("/api/cart/items", json={"productId": "nope", "qty": 1000, "extra": 1}, headers=h)
    body = await r.json()
    assert r.status == 400 and {e["field"] for e in body["errors"]} == {"qty", "extra"}
    r = await c.post("/api/cart/items", json={"productId": "00000000-0000-4000-8000-000000000000", "qty": 1},
                     headers=h)
    body = await r.json()
    assert r.status == 404 and body["errors"] == [{"field": "productId", "message": "no such product"}]
    r = await c.post("/api/orders/checkout", json={"card": {**CARD, "cvc": "x"}}, headers=h)
    body = await r.json()
    assert r.status == 400 and "card.cvc" in {e["field"] for e in body["errors"]}
    r = await c.post("/api/orders/checkout", json={}, headers=h)
    assert r.status == 400 and {e["field"] for e in (await r.json())["errors"]} == {"walletCurrency", "card"}
    for path in ("/api/orders/not-a-uuid", "/api/orders/00000000-0000-4000-8000-000000000000"):
        r = await c.get(path, headers=h)
        assert r.status == 404 and (await r.json())["code"] == "NOT_FOUND"
    r = await c.get("/api/orders?pageSize=101", headers=h)
    assert r.status == 400
    r = await c.get("/api/cart")
    assert r.status == 401
    r = await c.get("/api/admin/orders", headers=h)
    assert r.status == 403
    admin = principal_header("admin-http", roles=("admin",), scopes=(*ALL_USER_SCOPES, "admin"))
    r = await c.get("/api/admin/orders?pageSize=3", headers=admin)
    assert r.status == 200 and (await r.json())["pageSize"] == 3


async def test_graphql_cart_checkout_with_card_and_cancel(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=120, stock=5)
    data = await gql(shop, user, "mutation($id: ID!) { addToCart(productId: $id, qty: 3) { id items { qty } "
                                 "totals { currency amountMinor } } }", {"id": p.id})
    assert data["data"]["addToCart"]["totals"] == [{"currency": "EUR", "amountMinor": 360}]
    data = await gql(shop, user, "mutation($id: ID!) { setCartItem(productId: $id, qty: 2) { items { qty } } }",
                     {"id": p.id})
    assert data["data"]["setCartItem"]["items"] == [{"qty": 2}]
    data = await gql(shop, user, "{ cart { items { productId lineTotalMinor } } }")
    assert data["data"]["cart"]["items"] == [{"productId": p.id, "lineTotalMinor": 240}]
    q = ("mutation($card: CardPaymentInput!) { checkoutWithCard(card: $card, currency: \"EUR\", "
         "idempotencyKey: \"g1\") { id status totalMinor paymentMethod cardLast4 items { productId qty } } }")
    order = (await gql(shop, user, q, {"card": CARD}))["data"]["checkoutWithCard"]
    assert (order["status"], order["totalMinor"], order["paymentMethod"], order["cardLast4"]) == (
        "paid", 240, "card", "4242")
    again = (await gql(shop, user, q, {"card": CARD}))["data"]["checkoutWithCard"]
    assert again == order
    data = await gql(shop, user, "{ orders(page: 1, pageSize: 10) { total items { id } } }")
    assert data["data"]["orders"] == {"total": 1, "items": [{"id": order["id"]}]}
    data = await gql(shop, user, "query($id: ID!) { order(id: $id) { id } }", {"id": "not-a-uuid"})
    assert data["data"]["order"] is None
    data = await gql(shop, user, "mutation($id: ID!) { cancelOrder(id: $id) { status } }", {"id": order["id"]})
    assert data["data"]["cancelOrder"]["status"] == "refunded"
    assert await shop.stock(p.id) == 5


async def test_graphql_errors_carry_code_and_reason(shop: Shop) -> None:
    data = await gql(shop, new_user(), 'mutation { checkout(walletCurrency: "EUR") { id } }')
    [err] = data["errors"]
    assert err["extensions"]["code"] == "FAILED_PRECONDITION" and err["extensions"]["reason"] == "CART_EMPTY"


async def _today(shop: Shop, currency: str) -> tuple[int, int, dict[str, Any]]:
    admin = principal_header("admin-1", roles=("admin",), scopes=("admin",))
    r = await shop.client.get("/api/admin/sales", params={"days": "7"}, headers=admin)
    assert r.status == 200, await r.text()
    report = await r.json()
    series = next((s for s in report["currencies"] if s["currency"] == currency), None)
    if series is None:
        return 0, 0, report
    today = series["days"][-1]
    return today["orders"], today["revenueMinor"], report


async def test_the_sales_report_counts_paid_orders_per_day_and_currency_and_leaves_out_cancelled_ones(
        shop: Shop) -> None:
    before_n, before_rev, _ = await _today(shop, "EUR")
    user = new_user()
    h = principal_header(user)
    p = await shop.product(price=321, stock=10)
    await shop.top_up(user, "EUR", 10_000)
    placed = []
    for key in ("s1", "s2"):
        await shop.client.post("/api/cart/items", json={"productId": p.id, "qty": 1}, headers=h)
        r = await shop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR"},
                                   headers={**h, "Idempotency-Key": key})
        assert r.status == 201
        placed.append(await r.json())
    r = await shop.client.post(f"/api/orders/{placed[1]['id']}/cancel", headers={**h, "Idempotency-Key": "c1"})
    assert r.status == 200
    n, rev, report = await _today(shop, "EUR")
    assert (n - before_n, rev - before_rev) == (1, 321)
    assert report["days"] == 7 and all(len(s["days"]) == 7 for s in report["currencies"])
    eur = next(s for s in report["currencies"] if s["currency"] == "EUR")
    assert eur["orders"] == sum(d["orders"] for d in eur["days"])
    dates = [d["date"] for d in eur["days"]]
    assert dates == sorted(dates) and dates[0] == report["since"]
    # GraphQL: the same report; bad input and shoppers refused.
    admin = principal_header("admin-1", roles=("admin",), scopes=("admin",))
    r = await shop.client.post("/graphql", headers=admin, json={
        "query": "{ salesReport(days: 1) { days currencies { currency orders days { date orders } } } }"})
    gq = (await r.json())["data"]["salesReport"]
    assert gq["days"] == 1 and next(s for s in gq["currencies"] if s["currency"] == "EUR")["orders"] >= 1
    for bad in ("0", "367", "x"):
        r = await shop.client.get("/api/admin/sales", params={"days": bad}, headers=admin)
        assert r.status == 400, bad
    assert (await shop.client.get("/api/admin/sales", headers=h)).status == 403
