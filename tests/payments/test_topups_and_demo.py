"""Paid top-ups through intents outside demo mode; the raw-card seed form only in demo mode."""

from __future__ import annotations

from typing import Any

from tests.orders.shop import Shop, new_user
from tests.payments.test_intents import SUCCEED, confirm, token
from tests.support.fake_identity import principal_header

RAW_CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2031, "cvc": "123"}


async def balance(shop: Shop, user: str, currency: str = "EUR") -> int:
    r = await shop.client.get("/api/wallets", headers=principal_header(user))
    return next((w["balanceMinor"] for w in await r.json() if w["currency"] == currency), 0)


async def test_outside_demo_a_top_up_is_paid_through_an_intent_and_credited_once(make_shop: Any,
                                                                                 settings: Any) -> None:
    shop = await make_shop(settings_obj=settings.with_(demo=False))
    user = new_user()
    r = await shop.client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 2500},
                               headers=principal_header(user))
    body = await r.json()
    assert r.status == 200 and body["balanceMinor"] == 0, body
    pay = body["payment"]
    assert pay["status"] == "requires_payment_method" and pay["provider"] == "test"
    tok = await token(shop, SUCCEED)
    r = await confirm(shop, user, pay["id"], tok)
    assert r.status == 200 and (await r.json())["status"] == "succeeded"
    assert await balance(shop, user) == 2500
    r = await confirm(shop, user, pay["id"], tok)  # again: credited once
    assert r.status == 200 and await balance(shop, user) == 2500
    r = await shop.client.get("/api/wallets/EUR/transactions", headers=principal_header(user))
    assert "visa ending 4242" in (await r.json())["items"][0]["memo"]
    from plugins.wallet.ledger import verify

    assert await verify(shop.rt.db) == []


async def test_outside_demo_raw_card_data_is_refused_at_checkout_and_top_up(make_shop: Any, settings: Any) -> None:
    shop = await make_shop(settings_obj=settings.with_(demo=False))
    user = new_user()
    p = await shop.product(price=100, stock=3)
    await shop.add(user, p.id, 1)
    r = await shop.client.post("/api/orders/checkout", json={"card": RAW_CARD, "currency": "EUR"},
                               headers=principal_header(user))
    assert r.status == 400 and [e["field"] for e in (await r.json())["errors"]] == ["card"]
    r = await shop.client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 100, "card": RAW_CARD},
                               headers=principal_header(user))
    assert r.status == 400 and [e["field"] for e in (await r.json())["errors"]] == ["card"]
    assert await shop.stock(p.id) == 3


async def test_in_demo_the_seed_card_form_still_pays_at_once_through_the_test_provider(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=300, stock=3)
    await shop.add(user, p.id, 1)
    r = await shop.client.post("/api/orders/checkout", json={"card": RAW_CARD, "currency": "EUR"},
                               headers=principal_header(user))
    body = await r.json()
    assert r.status == 201 and body["status"] == "paid" and body["cardLast4"] == "4242"
    assert body["payment"]["provider"] == "test"
    # A refused card leaves nothing behind: no order, the stock, the cart.
    await shop.add(user, p.id, 1)
    r = await shop.client.post("/api/orders/checkout",
                               json={"card": {**RAW_CARD, "number": "4000000000000002"}, "currency": "EUR"},
                               headers=principal_header(user))
    assert r.status == 409 and (await r.json())["reason"] == "CARD_DECLINED"
    assert await shop.stock(p.id) == 2
    assert await shop.count("SELECT count(*) FROM orders_order WHERE user_id = $1", user) == 1
    r = await shop.client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 100, "card": RAW_CARD},
                               headers=principal_header(user))
    assert r.status == 200 and (await r.json())["balanceMinor"] == 100
