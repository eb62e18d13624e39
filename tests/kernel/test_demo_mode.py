"""Demo conveniences exist only in demo mode: outside it, nobody gets free wallet money
or pays with the built-in test cards (attacked over HTTP, REST and GraphQL)."""

from __future__ import annotations

from typing import Any

from tests.conftest import rt_of
from tests.orders.shop import GOOD_CARD, Shop, new_user, plugin_modules
from tests.support.fake_identity import principal_header

CARD = {"number": GOOD_CARD, "expMonth": 12, "expYear": 2099, "cvc": "123"}
LIMITS = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}


async def _shop(make_client: Any, demo: bool) -> Shop:
    client = await make_client(plugins=plugin_modules(), rate_limits=LIMITS, demo=demo)
    return Shop(client=client, rt=rt_of(client))


async def test_outside_demo_a_top_up_needs_a_payment(make_client):
    shop = await _shop(make_client, demo=False)
    user = new_user()
    h = principal_header(user)
    # No free money: the top-up waits for a payment intent (docs/payments.md), the balance does not move.
    r = await shop.client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 100_000}, headers=h)
    body = await r.json()
    assert r.status == 200 and body["balanceMinor"] == 0 and body["payment"]["status"] == "requires_payment_method"
    r = await shop.client.post("/graphql", headers=h, json={
        "query": "mutation { topUpWallet(currency: \"EUR\", amountMinor: 100000) { balanceMinor } }"})
    assert (await r.json())["data"]["topUpWallet"]["balanceMinor"] == 0
    # Test cards are refused too (card data never crosses the API outside demo mode).
    r = await shop.client.post("/api/wallets/top-up", headers=h,
                               json={"currency": "EUR", "amountMinor": 100, "card": CARD})
    assert r.status == 400 and [e["field"] for e in (await r.json())["errors"]] == ["card"]
    assert await shop.balance(user, "EUR") == 0


async def test_outside_demo_a_test_card_checkout_is_refused_and_moves_nothing(make_client):
    shop = await _shop(make_client, demo=False)
    user = new_user()
    h = principal_header(user)
    product = await shop.product(price=500, stock=3)
    assert (await shop.client.post("/api/cart/items", json={"productId": product.id, "qty": 1}, headers=h)).status == 200
    r = await shop.client.post("/api/orders/checkout", json={"card": CARD, "currency": "EUR"}, headers=h)
    body = await r.json()
    # Card numbers never cross the API outside demo mode (payments: intents and client-side tokens).
    assert r.status == 400 and [e["field"] for e in body["errors"]] == ["card"], body
    assert await shop.stock(product.id) == 3
    assert await shop.count("SELECT count(*) FROM orders_order WHERE user_id = $1", user) == 0


async def test_in_demo_both_conveniences_work(make_client):
    shop = await _shop(make_client, demo=True)
    user = new_user()
    h = principal_header(user)
    r = await shop.client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 700}, headers=h)
    assert r.status == 200 and (await r.json())["balanceMinor"] == 700
    product = await shop.product(price=500, stock=3)
    await shop.client.post("/api/cart/items", json={"productId": product.id, "qty": 1}, headers=h)
    r = await shop.client.post("/api/orders/checkout", json={"card": CARD, "currency": "EUR"}, headers=h)
    assert r.status == 201 and (await r.json())["paymentMethod"] == "card"
