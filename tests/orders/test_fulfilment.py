"""Shipping and tax at checkout, the order lifecycle (every transition and every illegal one), admin refunds
under concurrency, the admin order feed and customers, and scope separation. Real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

import plugins.shipping
from tests.conftest import rt_of
from tests.shipping.helpers import manager, shopper, tax, zone

from .shop import GOOD_CARD, Shop, new_user, plugin_modules

CARD = {"number": GOOD_CARD, "expMonth": 12, "expYear": 2099, "cvc": "123"}
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"}
LIMITS = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}


async def _shop(make_client: Any, **overrides: Any) -> Shop:
    client = await make_client(plugins=[*plugin_modules(), plugins.shipping], rate_limits=LIMITS, db_pool_max=30,
                               **overrides)
    rt = rt_of(client)
    await rt.db.execute("DELETE FROM shipping_zone")
    await rt.db.execute("DELETE FROM shipping_tax_rate")
    return Shop(client=client, rt=rt)


@pytest.fixture
async def fshop(make_client: Any) -> Shop:
    return await _shop(make_client)


async def _setup_de(shop: Shop) -> str:
    z = await zone(shop.client, ["DE"], [("DHL", {"EUR": 490})])
    await tax(shop.client, "DE", "19")
    return str(z["methods"][0]["id"])


async def _paid_order(shop: Shop, user: str, price: int = 1000, qty: int = 1, **extra: Any) -> dict[str, Any]:
    p = await shop.product(price=price, stock=100)
    await shop.top_up(user, "EUR", 1_000_000)
    await shop.add(user, p.id, qty)
    r = await shop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR", **extra}, headers=shopper(user))
    assert r.status == 201, await r.text()
    return dict(await r.json())


async def test_checkout_prices_shipping_and_exclusive_tax_into_the_total(fshop: Shop) -> None:
    method_id = await _setup_de(fshop)
    user = new_user()
    order = await _paid_order(fshop, user, price=1000, qty=2, shippingAddress=ADDRESS, shippingMethodId=method_id)
    # 2000 + 490 shipping, 19% of 2490 = 473.1 -> 473
    assert (order["subtotalMinor"], order["shippingMinor"], order["taxMinor"], order["totalMinor"]) \
        == (2000, 490, 473, 2963)
    assert order["shippingAddress"]["city"] == "Berlin" and order["shippingAddress"]["id"] == ""
    assert order["shippingMethod"] == {"id": method_id, "name": "DHL", "priceMinor": 490, "currency": "EUR"}
    assert order["email"] == f"{user}@example.test" and order["paidAt"] and order["updatedAt"]
    assert order["fulfillments"] == [] and order["refunds"] == []
    assert await fshop.balance(user, "EUR") == 1_000_000 - 2963


async def test_checkout_with_a_saved_address_and_inclusive_tax(fshop: Shop) -> None:
    method_id = await _setup_de(fshop)
    await tax(fshop.client, "DE", "19", inclusive=True)
    user, other = new_user(), new_user()
    a = await (await fshop.client.post("/api/me/addresses", json=ADDRESS, headers=shopper(user))).json()
    order = await _paid_order(fshop, user, price=1190, addressId=a["id"], shippingMethodId=method_id)
    # 1190 + 490 = 1680 includes 19%: tax 268.24 -> 268, shipping's share round(268 * 490 / 1680) = 78
    assert (order["subtotalMinor"], order["shippingMinor"], order["taxMinor"], order["totalMinor"]) \
        == (1000, 412, 268, 1680)
    assert order["shippingAddress"]["id"] == a["id"]
    # Someone else's saved address is not found, and nothing was bought.
    p = await fshop.product(price=100)
    await fshop.top_up(other, "EUR", 1000)
    await fshop.add(other, p.id, 1)
    r = await fshop.client.post("/api/orders/checkout", headers=shopper(other),
                                json={"walletCurrency": "EUR", "addressId": a["id"], "shippingMethodId": method_id})
    assert r.status == 404 and (await r.json())["reason"] == "ADDRESS_NOT_FOUND"
    assert await fshop.balance(other, "EUR") == 1000 and await fshop.stock(p.id) == 10


async def test_a_method_that_does_not_ship_there_is_a_field_error(fshop: Shop) -> None:
    method_id = await _setup_de(fshop)
    user = new_user()
    p = await fshop.product(price=100)
    await fshop.top_up(user, "EUR", 1000)
    await fshop.add(user, p.id, 1)
    r = await fshop.client.post("/api/orders/checkout", headers=shopper(user), json={
        "walletCurrency": "EUR", "shippingAddress": {**ADDRESS, "country": "FR"}, "shippingMethodId": method_id})
    assert r.status == 400 and (await r.json())["reason"] == "SHIPPING_METHOD_UNAVAILABLE"
    r = await fshop.client.post("/api/orders/checkout", headers=shopper(user), json={
        "walletCurrency": "EUR", "shippingAddress": {**ADDRESS, "country": "XX"}, "shippingMethodId": method_id})
    assert r.status == 400
    assert await fshop.balance(user, "EUR") == 1000


async def test_shipping_required_refuses_a_checkout_without_address_and_method(make_client: Any) -> None:
    shop = await _shop(make_client, plugin_config={"orders": {"shipping_required": True}})
    method_id = await _setup_de(shop)
    user = new_user()
    p = await shop.product(price=500, stock=5)
    await shop.top_up(user, "EUR", 10_000)
    await shop.add(user, p.id, 1)
    for body in ({"walletCurrency": "EUR"}, {"walletCurrency": "EUR", "shippingAddress": ADDRESS}):
        r = await shop.client.post("/api/orders/checkout", json=body, headers=shopper(user))
        assert r.status == 400
        problem = await r.json()
        assert problem["reason"] == "SHIPPING_REQUIRED"
        assert {"shippingAddress", "shippingMethodId"} <= {e["field"] for e in problem["errors"]}
    assert await shop.stock(p.id) == 5 and await shop.balance(user, "EUR") == 10_000
    r = await shop.client.post("/api/orders/checkout", headers=shopper(user),
                               json={"walletCurrency": "EUR", "shippingAddress": ADDRESS, "shippingMethodId": method_id})
    assert r.status == 201


async def test_shipping_fields_without_the_shipping_plugin_are_refused(shop: Shop) -> None:
    # tests/orders' own fixture: catalog, wallet and orders only.
    user = new_user()
    p = await shop.product(price=100)
    await shop.top_up(user, "EUR", 1000)
    await shop.add(user, p.id, 1)
    r = await shop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR", "shippingAddress": ADDRESS},
                               headers=shopper(user))
    assert r.status == 409 and (await r.json())["reason"] == "SHIPPING_UNAVAILABLE"
    r = await shop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR"}, headers=shopper(user))
    order = await r.json()
    assert r.status == 201 and (order["subtotalMinor"], order["shippingMinor"], order["taxMinor"]) == (100, 0, 0)


async def test_lifecycle_fulfil_refund_and_every_illegal_transition(fshop: Shop) -> None:
    c, user = fshop.client, new_user()
    order = await _paid_order(fshop, user, price=1000)
    oid, created_update = order["id"], order["updatedAt"]
    assert order["status"] == "paid"
    # paid -> fulfilled (twice: two parcels)
    r = await c.post(f"/api/admin/orders/{oid}/fulfillments", json={"carrier": "DHL", "trackingNumber": "JJD01"},
                     headers=manager())
    assert r.status == 201, await r.text()
    order = await r.json()
    assert order["status"] == "fulfilled" and order["updatedAt"] > created_update
    r = await c.post(f"/api/admin/orders/{oid}/fulfillments", json={"carrier": "UPS", "trackingNumber": "1Z9"},
                     headers=manager())
    assert [(f["carrier"], f["trackingNumber"]) for f in (await r.json())["fulfillments"]] == [("DHL", "JJD01"),
                                                                                              ("UPS", "1Z9")]
    # The shopper can no longer cancel a fulfilled order.
    r = await c.post(f"/api/orders/{oid}/cancel", headers=shopper(user))
    assert r.status == 409 and (await r.json())["reason"] == "ORDER_NOT_CANCELLABLE"
    # fulfilled -> partially_refunded -> refunded, money back to the wallet each time
    before = await fshop.balance(user, "EUR")
    r = await c.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 300, "reason": "damaged"},
                     headers=manager())
    assert r.status == 201
    order = await r.json()
    assert order["status"] == "partially_refunded" and order["refundedMinor"] == 300
    assert [(x["amountMinor"], x["currency"], x["reason"]) for x in order["refunds"]] == [(300, "EUR", "damaged")]
    assert await fshop.balance(user, "EUR") == before + 300
    r = await c.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 701}, headers=manager())
    assert r.status == 409 and (await r.json())["reason"] == "REFUND_EXCEEDS_PAID"
    # A partially refunded order can still ship its remaining parcel.
    r = await c.post(f"/api/admin/orders/{oid}/fulfillments", json={"carrier": "DHL", "trackingNumber": "JJD02"},
                     headers=manager())
    assert (await r.json())["status"] == "partially_refunded"
    r = await c.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 700}, headers=manager())
    assert (await r.json())["status"] == "refunded" and await fshop.balance(user, "EUR") == before + 1000
    # refunded: nothing more
    for path, body, reason in ((f"/api/admin/orders/{oid}/refunds", {"amountMinor": 1}, "ORDER_NOT_REFUNDABLE"),
                               (f"/api/admin/orders/{oid}/fulfillments", {"carrier": "X", "trackingNumber": "1"},
                                "ORDER_NOT_FULFILLABLE")):
        r = await c.post(path, json=body, headers=manager())
        assert r.status == 409 and (await r.json())["reason"] == reason
    r = await c.post(f"/api/orders/{oid}/cancel", headers=shopper(user))
    assert r.status == 409


async def test_cancelled_orders_can_be_neither_fulfilled_nor_refunded(fshop: Shop) -> None:
    c, user = fshop.client, new_user()
    order = await _paid_order(fshop, user, price=400)
    r = await c.post(f"/api/orders/{order['id']}/cancel", headers=shopper(user))
    assert (await r.json())["status"] == "refunded"
    r = await c.post(f"/api/admin/orders/{order['id']}/fulfillments", json={"carrier": "X", "trackingNumber": "1"},
                     headers=manager())
    assert r.status == 409 and "refunded" in (await r.json())["detail"]
    r = await c.post(f"/api/admin/orders/{order['id']}/refunds", json={"amountMinor": 1}, headers=manager())
    assert r.status == 409
    r = await c.post("/api/admin/orders/00000000-0000-0000-0000-000000000000/refunds", json={"amountMinor": 1},
                     headers=manager())
    assert r.status == 404


@pytest.mark.slow
async def test_twenty_parallel_refunds_never_sum_beyond_the_total(fshop: Shop) -> None:
    user = new_user()
    order = await _paid_order(fshop, user, price=500)
    before = await fshop.balance(user, "EUR")

    async def refund(i: int) -> int:
        r = await fshop.client.post(f"/api/admin/orders/{order['id']}/refunds", json={"amountMinor": 30},
                                    headers={**manager(), "Idempotency-Key": f"par-{i}"})
        return r.status

    statuses = await asyncio.gather(*(refund(i) for i in range(20)))
    assert sorted(statuses) == [201] * 16 + [409] * 4  # 16 x 30 = 480 <= 500 < 17 x 30
    final = await (await fshop.client.get(f"/api/admin/orders/{order['id']}", headers=manager())).json()
    assert final["refundedMinor"] == 480 == sum(x["amountMinor"] for x in final["refunds"])
    assert final["status"] == "partially_refunded"
    assert await fshop.balance(user, "EUR") == before + 480


async def test_a_refund_is_idempotent_with_its_key(fshop: Shop) -> None:
    user = new_user()
    order = await _paid_order(fshop, user, price=500)
    h = {**manager(), "Idempotency-Key": "refund-once"}
    first = await (await fshop.client.post(f"/api/admin/orders/{order['id']}/refunds", json={"amountMinor": 100},
                                           headers=h)).json()
    again = await fshop.client.post(f"/api/admin/orders/{order['id']}/refunds", json={"amountMinor": 100}, headers=h)
    assert again.status == 201 and (await again.json())["refunds"] == first["refunds"]
    assert len(first["refunds"]) == 1 and await fshop.count(
        "SELECT count(*) FROM orders_refund WHERE order_id = $1", order["id"]) == 1


async def test_card_orders_are_refunded_to_the_card(fshop: Shop) -> None:
    user = new_user()
    p = await fshop.product(price=800)
    await fshop.add(user, p.id, 1)
    r = await fshop.client.post("/api/orders/checkout", json={"card": CARD, "currency": "EUR"}, headers=shopper(user))
    order = await r.json()
    assert r.status == 201 and order["paymentMethod"] == "card"
    r = await fshop.client.post(f"/api/admin/orders/{order['id']}/refunds", json={"amountMinor": 250},
                                headers=manager())
    assert r.status == 201 and (await r.json())["status"] == "partially_refunded"
    ref = await fshop.rt.db.fetchval("SELECT payment_refund_id FROM orders_refund WHERE order_id = $1", order["id"])
    assert ref  # the card refund's id from the payment gateway


async def test_admin_feed_filters_by_status_email_and_updated_since(fshop: Shop) -> None:
    c = fshop.client
    a, b = new_user(), new_user()
    first = await _paid_order(fshop, a, price=100)
    second = await _paid_order(fshop, b, price=200)
    r = await c.get("/api/admin/orders", params={"email": f"{b.upper()}@EXAMPLE.TEST"}, headers=manager())
    assert [o["id"] for o in (await r.json())["items"]] == [second["id"]]
    # Touch the first order: it becomes the newest-updated; updatedSince returns it alone.
    since = datetime.now().astimezone().isoformat()
    await c.post(f"/api/admin/orders/{first['id']}/fulfillments", json={"carrier": "DHL", "trackingNumber": "T1"},
                 headers=manager())
    page = await (await c.get("/api/admin/orders", params={"updatedSince": since}, headers=manager())).json()
    assert [o["id"] for o in page["items"]] == [first["id"]] and page["total"] == 1
    page = await (await c.get("/api/admin/orders", params={"pageSize": 2}, headers=manager())).json()
    assert [o["id"] for o in page["items"]] == [first["id"], second["id"]]
    page = await (await c.get("/api/admin/orders", params={"status": "fulfilled", "userId": a},
                              headers=manager())).json()
    assert [o["id"] for o in page["items"]] == [first["id"]]
    for bad in ({"updatedSince": "yesterday"}, {"updatedSince": "2026-01-01T00:00:00"}, {"status": "lost"},
                {"pageSize": "101"}):
        assert (await c.get("/api/admin/orders", params=bad, headers=manager())).status == 400, bad
    detail = await (await c.get(f"/api/admin/orders/{second['id']}", headers=manager())).json()
    assert detail["email"] == f"{b}@example.test"


async def test_customers_have_order_counts_and_net_totals(fshop: Shop) -> None:
    user = new_user()
    one = await _paid_order(fshop, user, price=300)
    await _paid_order(fshop, user, price=200)
    await fshop.client.post(f"/api/admin/orders/{one['id']}/refunds", json={"amountMinor": 50}, headers=manager())
    page = await (await fshop.client.get("/api/admin/customers", params={"pageSize": 100},
                                         headers=manager())).json()
    me = next(x for x in page["items"] if x["userId"] == user)
    assert me["orderCount"] == 2 and me["email"] == f"{user}@example.test"
    assert me["totals"] == [{"currency": "EUR", "amountMinor": 450}]


async def test_admin_order_operations_need_orders_manage_and_it_cannot_touch_the_catalog(fshop: Shop) -> None:
    c, user = fshop.client, new_user()
    order = await _paid_order(fshop, user, price=100)
    for method, path in (("GET", "/api/admin/orders"), ("GET", f"/api/admin/orders/{order['id']}"),
                         ("GET", "/api/admin/customers"), ("POST", f"/api/admin/orders/{order['id']}/refunds")):
        r = await c.request(method, path, json={"amountMinor": 1} if method == "POST" else None,
                            headers=shopper(user))
        assert r.status == 403, path
    assert (await c.get("/api/admin/orders", headers=manager())).status == 200
    # admin implies orders:manage (the identity expands it as auth does)
    from tests.support.fake_identity import principal_header
    assert (await c.get("/api/admin/orders", headers=principal_header("boss", roles=("admin",),
                                                                        scopes=("admin",)))).status == 200
    r = await c.post("/api/admin/categories", json={"slug": "erp-made", "name": "ERP"}, headers=manager())
    assert r.status == 403
    r = await c.put(f"/api/admin/products/{order['items'][0]['productId']}/stock", json={"stockQty": 0},
                    headers=manager())
    assert r.status == 403
    q = 'mutation { createCategory(slug: "erp-gql", name: "E") { id } }'
    out = await (await c.post("/graphql", json={"query": q}, headers=manager())).json()
    assert out["errors"] and out.get("data") in (None, {}, {"createCategory": None})


async def test_graphql_admin_orders_fulfil_refund_and_customers(fshop: Shop) -> None:
    c, user = fshop.client, new_user()
    order = await _paid_order(fshop, user, price=600)

    async def gql(q: str, **v: Any) -> dict[str, Any]:
        return dict(await (await c.post("/graphql", json={"query": q, "variables": v}, headers=manager())).json())

    out = await gql("mutation($id: ID!) { fulfilOrder(id: $id, carrier: \"DHL\", trackingNumber: \"G1\") "
                    "{ status fulfillments { carrier trackingNumber } } }", id=order["id"])
    assert out["data"]["fulfilOrder"] == {"status": "fulfilled",
                                          "fulfillments": [{"carrier": "DHL", "trackingNumber": "G1"}]}
    out = await gql("mutation($id: ID!) { refundOrder(id: $id, amountMinor: 100, reason: \"late\") "
                    "{ status refundedMinor refunds { amountMinor reason } } }", id=order["id"])
    assert out["data"]["refundOrder"] == {"status": "partially_refunded", "refundedMinor": 100,
                                          "refunds": [{"amountMinor": 100, "reason": "late"}]}
    out = await gql("query($id: ID!, $e: String) { adminOrder(id: $id) { email subtotalMinor taxMinor } "
                    "adminOrders(email: $e) { total } customers(pageSize: 100) { total } }",
                    id=order["id"], e=f"{user}@example.test")
    assert out["data"]["adminOrder"] == {"email": f"{user}@example.test", "subtotalMinor": 600, "taxMinor": 0}
    assert out["data"]["adminOrders"]["total"] == 1


async def test_catalog_write_alone_manages_the_catalog_and_cannot_touch_the_orders(fshop: Shop) -> None:
    from kernel.core.context import CallContext, Principal
    from kernel.core.status import BusError
    from plugins.catalog.contract import Catalog, CreateCategory
    from plugins.orders.contract import ListAllOrders, Orders
    from tests.support.fake_identity import principal_header

    c = fshop.client
    # A catalog editor (auth grants catalog:write only with the admin role): the catalog, not the orders.
    editor = principal_header("editor", roles=("admin",), scopes=("catalog:write",))
    r = await c.post("/api/admin/categories", json={"slug": f"pim-{new_user()}", "name": "PIM"}, headers=editor)
    assert r.status == 201, await r.text()
    p = await fshop.product(price=100, stock=3)
    r = await c.put(f"/api/admin/products/{p.id}/stock", json={"stockQty": 7}, headers=editor)
    assert r.status == 200 and (await r.json())["stockQty"] == 7
    for path in ("/api/admin/orders", "/api/admin/customers"):
        r = await c.get(path, headers=editor)
        assert r.status == 403 and (await r.json())["reason"] == "MISSING_SCOPE", path
    # A PIM integration (client credentials) with only catalog:write, on the bus.
    pim = CallContext(principal=Principal(kind="client", subject="client:pim", client_id="pim",
                                          scopes=frozenset({"catalog:write"})))
    made = await fshop.bus.call(Catalog.create_category, CreateCategory(slug=f"pim-bus-{new_user()}", name="P"), pim)
    assert made.id
    with pytest.raises(BusError) as exc:
        await fshop.bus.call(Orders.list_all_orders, ListAllOrders(), pim)
    assert exc.value.reason == "MISSING_SCOPE"
    # Without catalog:write (a shopper, or orders:manage): no catalog changes.
    r = await c.post("/api/admin/categories", json={"slug": "nope", "name": "N"}, headers=shopper("someone"))
    assert r.status == 403
