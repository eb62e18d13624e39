"""Stock hoarding: unpaid card orders are capped per customer and, for guests, per client address; a guest's
unpaid order holds its stock for a shorter time. Real HTTP server, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from plugins.orders.contract import CancelOrder, Orders
from tests.conftest import rt_of
from tests.shipping.helpers import shopper

from .shop import Shop, new_user, plugin_modules, user_ctx

LIMITS = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}
CAPS = {"max_unpaid_orders": 2, "max_unpaid_orders_per_ip": 3, "guest_payment_timeout_s": 120}
BY_CARD = {"paymentMethod": "card", "currency": "EUR"}


@pytest.fixture
async def cshop(make_client: Any) -> Shop:
    client = await make_client(plugins=plugin_modules(), rate_limits=LIMITS, db_pool_max=20,
                               trusted_proxies=("127.0.0.1",), plugin_config={"orders": CAPS})
    return Shop(client=client, rt=rt_of(client))


async def _card_checkout(shop: Shop, user: str, product_id: str) -> Any:
    await shop.add(user, product_id, 1)
    return await shop.client.post("/api/orders/checkout", json=BY_CARD, headers=shopper(user))


async def test_a_customer_holds_at_most_max_unpaid_orders(cshop: Shop) -> None:
    user = new_user()
    p = await cshop.product(price=500, stock=10)
    orders = []
    for _ in range(2):
        r = await _card_checkout(cshop, user, p.id)
        assert r.status == 201, await r.text()
        orders.append(await r.json())
    r = await _card_checkout(cshop, user, p.id)
    body = await r.json()
    assert r.status == 409 and body["reason"] == "TOO_MANY_UNPAID_ORDERS", body
    assert await cshop.stock(p.id) == 8  # the refused checkout took nothing; the cart is kept
    assert len((await (await cshop.client.get("/api/cart", headers=shopper(user))).json())["items"]) == 1
    # GraphQL says the same.
    out = await (await cshop.client.post("/graphql", headers=shopper(user), json={
        "query": 'mutation { checkoutByCard(currency: "EUR") { id } }'})).json()
    assert out["errors"][0]["extensions"]["reason"] == "TOO_MANY_UNPAID_ORDERS", out
    # Paying by wallet is not capped (it holds nothing unpaid).
    await cshop.top_up(user, "EUR", 10_000)
    r = await cshop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR"}, headers=shopper(user))
    assert r.status == 201, await r.text()
    # Cancelling an unpaid order frees a place.
    await cshop.bus.call(Orders.cancel_order, CancelOrder(id=orders[0]["id"]), user_ctx(user))
    r = await _card_checkout(cshop, user, p.id)
    assert r.status == 201, await r.text()


async def _guest(base: str, ip: str, product_id: str) -> aiohttp.ClientSession:
    """A new guest (its own cookie jar) from ``ip`` (named by the trusted proxy) with one product in its cart."""
    s = aiohttp.ClientSession(base_url=base, headers={"X-Forwarded-For": ip}, cookie_jar=aiohttp.CookieJar(unsafe=True))
    r = await s.post("/api/guest-session")
    assert r.status == 200
    r = await s.post("/api/cart/items", json={"productId": product_id, "qty": 1})
    assert r.status == 200, await r.text()
    return s


async def test_parallel_guest_checkouts_from_one_address_cannot_pass_the_cap(cshop: Shop) -> None:
    base = str(cshop.client.make_url(""))
    p = await cshop.product(price=300, stock=50)
    guests = [await _guest(base, "203.0.113.9", p.id) for _ in range(8)]
    other = await _guest(base, "198.51.100.4", p.id)
    try:
        async def checkout(s: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
            r = await s.post("/api/orders/checkout", json={**BY_CARD, "email": "g@example.test"})
            return r.status, await r.json()

        results = await asyncio.gather(*(checkout(s) for s in guests))
        made = [b for st, b in results if st == 201]
        refused = [b for st, b in results if st != 201]
        assert len(made) == 3, results
        assert all(b["reason"] == "TOO_MANY_UNPAID_ORDERS" for b in refused) and len(refused) == 5
        assert await cshop.stock(p.id) == 47
        # Another address is not affected.
        status, body = await checkout(other)
        assert status == 201, body
        # A guest's unpaid order holds its stock for guest_payment_timeout_s, not payment_timeout_s (900 s).
        left = await cshop.rt.db.fetchval(
            "SELECT extract(epoch FROM expires_at - now()) FROM payments_intent WHERE reference = $1", body["id"])
        assert 60 < left <= 120
    finally:
        for s in [*guests, other]:
            await s.close()


async def test_parallel_checkouts_of_one_customer_cannot_pass_the_cap(cshop: Shop) -> None:
    user = new_user()
    p = await cshop.product(price=100, stock=20)

    async def one() -> int:
        # Each call fills the cart and checks out; the cart row lock puts one customer's checkouts in line.
        await cshop.add(user, p.id, 1)
        r = await cshop.client.post("/api/orders/checkout", json=BY_CARD, headers=shopper(user))
        return r.status

    statuses = await asyncio.gather(*(one() for _ in range(6)))
    assert statuses.count(201) <= 2 and set(statuses) <= {201, 409}, statuses
    assert await cshop.count("SELECT count(*) FROM orders_order WHERE user_id = $1 AND status = "
                             "'awaiting_payment'", user) == 2
