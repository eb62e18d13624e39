"""Guest checkout: a cart kept by the signed guest cookie, card checkout with an email, the signed order link,
and the merge of the guest cart on sign-in. Real HTTP server, PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest

import plugins.shipping
from plugins.orders.guest import GuestLinks
from tests.conftest import rt_of
from tests.shipping.helpers import shopper

from .shop import GOOD_CARD, Shop, new_user, plugin_modules

CARD = {"number": GOOD_CARD, "expMonth": 12, "expYear": 2099, "cvc": "123"}
ADDRESS = {"name": "Guest", "line1": "2 Side St", "city": "Paris", "country": "FR"}
LIMITS = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}


@pytest.fixture
async def gshop(make_client: Any) -> Shop:
    client = await make_client(plugins=[*plugin_modules(), plugins.shipping], rate_limits=LIMITS)
    return Shop(client=client, rt=rt_of(client))


async def _guest_cart(shop: Shop, qty: int = 2, price: int = 700) -> Any:
    c = shop.client
    r = await c.post("/api/guest-session")
    assert r.status == 200 and (await r.json()) == {"guest": True}
    assert "shop_guest" in {m.key for m in c.session.cookie_jar}
    p = await shop.product(price=price, stock=10)
    r = await c.post("/api/cart/items", json={"productId": p.id, "qty": qty})
    assert r.status == 200, await r.text()
    return p


async def test_a_guest_keeps_a_cart_by_cookie_and_checks_out_by_card_with_an_email(gshop: Shop) -> None:
    c = gshop.client
    assert (await c.get("/api/cart")).status == 401  # no cookie yet: anonymous
    p = await _guest_cart(gshop)
    cart = await (await c.get("/api/cart")).json()
    assert [(x["productId"], x["qty"]) for x in cart["items"]] == [(p.id, 2)]
    # A guest pays by card and gives an email.
    r = await c.post("/api/orders/checkout", json={"walletCurrency": "EUR"})
    body = await r.json()
    assert r.status == 400 and body["reason"] == "GUEST_CHECKOUT"
    assert {e["field"] for e in body["errors"]} == {"email", "walletCurrency"}
    r = await c.post("/api/orders/checkout", json={"card": CARD, "currency": "EUR", "email": "guest@example.test",
                                                   "shippingAddress": ADDRESS})
    assert r.status == 201, await r.text()
    order = await r.json()
    assert order["status"] == "paid" and order["email"] == "guest@example.test"
    assert order["userId"].startswith("guest:") and order["shippingAddress"]["city"] == "Paris"
    assert await gshop.stock(p.id) == 8
    # The signed link opens the order, without any cookie.
    link = order["orderLink"]
    c.session.cookie_jar.clear()
    r = await c.get(f"/api/guest-orders/{link}")
    assert r.status == 200 and (await r.json())["id"] == order["id"]
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    assert (await c.get(f"/api/guest-orders/{tampered}")).status == 404
    other = link.replace(order["id"], "00000000-0000-0000-0000-000000000000")
    assert (await c.get(f"/api/guest-orders/{other}")).status == 404
    out = await (await c.post("/graphql", json={"query": "query($t: String!) { guestOrder(token: $t) { id email } }",
                                                "variables": {"t": link}})).json()
    assert out["data"]["guestOrder"] == {"id": order["id"], "email": "guest@example.test"}


async def test_guest_links_expire_and_never_open_an_accounts_order(gshop: Shop) -> None:
    links = GuestLinks(_pctx(gshop))
    await _guest_cart(gshop)
    order = await (await gshop.client.post("/api/orders/checkout", json={
        "card": CARD, "currency": "EUR", "email": "g@example.test"})).json()
    expired = await links.sign(order["id"], ttl=60, now=0)
    r = await gshop.client.get(f"/api/guest-orders/{expired}")
    assert r.status == 403 and (await r.json())["reason"] == "ORDER_LINK_EXPIRED"
    # A (valid) link to an account's order does not open it.
    user = new_user()
    p = await gshop.product(price=100)
    await gshop.top_up(user, "EUR", 1000)
    await gshop.add(user, p.id, 1)
    mine = await (await gshop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR"},
                                          headers=shopper(user))).json()
    forged = await links.sign(mine["id"], ttl=600)
    assert (await gshop.client.get(f"/api/guest-orders/{forged}")).status == 404
    for bad in ("x", "a.b.c", "../../etc", "%00"):
        assert (await gshop.client.get(f"/api/guest-orders/{bad}")).status in (400, 404)


async def test_a_forged_guest_cookie_is_anonymous(gshop: Shop) -> None:
    c = gshop.client
    c.session.cookie_jar.update_cookies({"shop_guest": "3f2b6c1e-0000-4000-8000-000000000000.forged"})
    assert (await c.get("/api/cart")).status == 401


async def test_signing_in_merges_the_guest_cart_into_the_accounts(gshop: Shop) -> None:
    c, user = gshop.client, new_user()
    p = await _guest_cart(gshop, qty=2)
    q = await gshop.product(price=50)
    await gshop.add(user, p.id, 1)  # the account already holds one of p, and q
    await gshop.add(user, q.id, 3)
    # The first request made signed in (here the test identity) with the guest cookie merges and clears it.
    r = await c.get("/api/cart", headers=shopper(user))
    assert r.status == 200
    cart = await (await c.get("/api/cart", headers=shopper(user))).json()
    assert sorted((x["productId"], x["qty"]) for x in cart["items"]) == sorted([(p.id, 3), (q.id, 3)])
    assert "shop_guest" not in {m.key for m in c.session.cookie_jar if m.value}
    assert await gshop.count("SELECT count(*) FROM orders_cart WHERE user_id LIKE 'guest:%' AND id IN "
                             "(SELECT cart_id FROM orders_cart_item WHERE product_id = $1)", p.id) == 0


def _pctx(shop: Shop) -> Any:
    from kernel.host.plugin import PluginContext

    lp = next(x for x in shop.rt.plugins if x.info.name == "orders")
    import logging

    return PluginContext(name="orders", settings=shop.rt.settings, config=lp.config, runtime=shop.rt,
                         log=logging.getLogger("shop.plugins.orders"))
