"""Webhooks in process: management over REST/GraphQL, signed deliveries to a real receiver,
retries, the attempt log, redelivery, automatic disabling, and SSRF refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError
from plugins.catalog.contract import AdjustStock, Catalog, DeleteById, UpdateProduct
from plugins.orders.contract import CancelOrder, Checkout, CreateFulfillment, CreateRefund, Orders
from plugins.webhooks.contract import EVENT_TYPES
from plugins.webhooks.ssrf import GuardedResolver, TargetRefused, address_allowed, check_url
from tests.orders.shop import ADMIN, Shop, user_ctx
from tests.support.fake_identity import principal_header

from .receiver import Receiver

ADMIN_H = principal_header("admin-1", roles=("admin",), scopes=("admin",))


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.03)


async def subscribe(shop: Shop, receiver: Receiver, events: tuple[str, ...] = EVENT_TYPES,
                    url: str | None = None) -> dict[str, Any]:
    r = await shop.client.post("/api/admin/webhooks", json={"url": url or receiver.url, "events": list(events)},
                               headers=ADMIN_H)
    assert r.status == 201, await r.text()
    hook = dict(await r.json())
    receiver.secret = hook["secret"]
    return hook


async def buy(shop: Shop, user: str, product_id: str, qty: int = 1) -> Any:
    await shop.top_up(user, "EUR", 10_000)
    await shop.add(user, product_id, qty)
    return await shop.bus.call(Orders.checkout, Checkout(wallet_currency="EUR"), user_ctx(user))


def types_for(receiver: Receiver, object_id: str) -> list[str]:
    return [m.message["type"] for m in receiver.delivered() if m.message["data"].get("id") == object_id]


async def test_an_admin_manages_endpoints_and_sees_the_secret_only_once(hooks_shop: Any, receiver: Receiver) -> None:
    shop = await hooks_shop()
    c = shop.client
    hook = await subscribe(shop, receiver, ("order.created", "stock.low"))
    assert hook["secret"].startswith("whsec_") and hook["active"] is True
    assert hook["events"] == ["order.created", "stock.low"]
    listed = await (await c.get("/api/admin/webhooks", headers=ADMIN_H)).json()
    mine = next(h for h in listed if h["id"] == hook["id"])
    assert "secret" not in mine and mine["url"] == receiver.url
    # GraphQL: the same service.
    q = await c.post("/graphql", headers=ADMIN_H, json={"query": "{ webhooks { id url events active } }"})
    assert hook["id"] in [h["id"] for h in (await q.json())["data"]["webhooks"]]
    m = await c.post("/graphql", headers=ADMIN_H, json={
        "query": "mutation($u: String!) { createWebhook(url: $u, events: [\"product.created\"]) { id secret } }",
        "variables": {"u": receiver.url}})
    created = (await m.json())["data"]["createWebhook"]
    assert created["secret"].startswith("whsec_")
    r = await c.delete(f"/api/admin/webhooks/{created['id']}", headers=ADMIN_H)
    assert r.status == 200 and (await r.json())["deleted"] is True
    assert (await c.delete(f"/api/admin/webhooks/{created['id']}", headers=ADMIN_H)).status == 404
    # Bad input: clear 400s naming the field; strangers: 401/403.
    bad = await c.post("/api/admin/webhooks", headers=ADMIN_H, json={"url": receiver.url, "events": ["order.eaten"]})
    assert bad.status == 400 and (await bad.json())["errors"][0]["field"] == "events"
    bad = await c.post("/api/admin/webhooks", headers=ADMIN_H, json={"url": receiver.url, "events": []})
    assert bad.status == 400
    bad = await c.post("/api/admin/webhooks", headers=ADMIN_H, json={"url": "ftp://x.example", "events": ["stock.low"]})
    assert bad.status == 400 and (await bad.json())["errors"][0]["field"] == "url"
    assert (await c.get("/api/admin/webhooks")).status == 401
    assert (await c.get("/api/admin/webhooks", headers=principal_header("shopper"))).status == 403
    assert (await c.get("/api/admin/webhooks/not-a-uuid/deliveries", headers=ADMIN_H)).status == 404


async def test_order_and_product_events_arrive_signed_with_the_rest_resource(hooks_shop: Any,
                                                                             receiver: Receiver) -> None:
    shop = await hooks_shop(stock_low_threshold=3)
    await subscribe(shop, receiver)
    p = await shop.product(price=250, stock=4)
    user = f"u-{p.id[:8]}"
    order = await buy(shop, user, p.id, 2)  # 4 -> 2: crosses below 3, stock.low once
    await buy(shop, user, p.id, 1)  # 2 -> 1: already low, no second stock.low
    await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user))
    admin = CallContext(principal=ADMIN)
    await shop.bus.call(Catalog.update_product, UpdateProduct(id=p.id, name="Renamed"), admin)
    await shop.bus.call(Catalog.delete_product, DeleteById(id=p.id), admin)

    await eventually(lambda: "order.refunded" in types_for(receiver, order.id)
                     and "product.deleted" in types_for(receiver, p.id))
    got = receiver.delivered()
    assert got and all(m.verified for m in got)
    # In order per aggregate: the order's events, then the product's.
    assert types_for(receiver, order.id) == ["order.created", "order.paid", "order.cancelled", "order.refunded"]
    assert types_for(receiver, p.id) == ["product.created", "stock.low", "product.updated", "product.deleted"]
    created = next(m for m in got if m.message["type"] == "order.created" and m.message["data"]["id"] == order.id)
    body = created.message
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"]["totalMinor"] == 500 and body["data"]["status"] == "paid"
    assert body["data"]["items"][0]["productId"] == p.id and body["data"]["items"][0]["qty"] == 2
    low = next(m.message for m in got if m.message["type"] == "stock.low")
    assert low["data"]["stockQty"] == 2 and low["data"]["threshold"] == 3
    headers = created.headers
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith("v1,")


async def test_fulfilment_and_admin_refunds_arrive_as_order_fulfilled_and_order_refunded(
        hooks_shop: Any, receiver: Receiver) -> None:
    shop = await hooks_shop()
    await subscribe(shop, receiver, ("order.paid", "order.fulfilled", "order.refunded"))
    p = await shop.product(price=1000, stock=5)
    order = await buy(shop, f"u-{p.id[:8]}", p.id, 2)
    admin = CallContext(principal=ADMIN)
    await shop.bus.call(Orders.fulfil_order, CreateFulfillment(id=order.id, carrier="DHL", tracking_number="T-1"),
                        admin)
    await shop.bus.call(Orders.refund_order, CreateRefund(id=order.id, amount_minor=300, reason="dented"), admin)
    await eventually(lambda: "order.refunded" in types_for(receiver, order.id))
    assert types_for(receiver, order.id) == ["order.paid", "order.fulfilled", "order.refunded"]
    got = {m.message["type"]: m.message["data"] for m in receiver.delivered() if m.message["data"]["id"] == order.id}
    shipped = got["order.fulfilled"]
    assert shipped["status"] == "fulfilled"
    assert [(f["carrier"], f["trackingNumber"]) for f in shipped["fulfillments"]] == [("DHL", "T-1")]
    refunded = got["order.refunded"]
    assert refunded["status"] == "partially_refunded" and refunded["refundedMinor"] == 300
    assert [(r["amountMinor"], r["reason"]) for r in refunded["refunds"]] == [(300, "dented")]
    # A refused refund (above what is left) changes nothing and announces nothing.
    with pytest.raises(BusError):
        await shop.bus.call(Orders.refund_order, CreateRefund(id=order.id, amount_minor=1701, reason="x"), admin)
    n = await shop.rt.db.fetchval("SELECT count(*) FROM shop_outbox WHERE topic = 'orders.order_refunded' "
                                  "AND aggregate = $1", f"orders:{order.id}")
    assert n == 1


async def test_a_failing_receiver_gets_retries_each_attempt_logged_then_a_manual_redelivery(
        hooks_shop: Any, receiver: Receiver) -> None:
    shop = await hooks_shop()
    receiver.plan = lambda n: 503 if n < 2 else 200  # down twice, then up
    hook = await subscribe(shop, receiver, ("product.created",))
    p = await shop.product(price=1, stock=1)
    await eventually(lambda: types_for(receiver, p.id) == ["product.created"])
    h = ADMIN_H
    for _ in range(200):  # the attempt is logged just after the response
        deliveries = await (await shop.client.get(f"/api/admin/webhooks/{hook['id']}/deliveries", headers=h)).json()
        d = next(x for x in deliveries if x["eventType"] == "product.created")
        if d["state"] != "pending":
            break
        await asyncio.sleep(0.03)
    assert d["state"] == "succeeded" and d["attemptCount"] == 3
    statuses = [a["statusCode"] for a in d["attempts"]]
    assert statuses == [200, 503, 503]  # newest first
    assert d["attempts"][1]["error"] == "HTTP 503" and d["attempts"][1]["responseExcerpt"].startswith("no thanks")
    assert len(d["attempts"][1]["responseExcerpt"]) <= 1024
    assert all(a["durationMs"] >= 0 for a in d["attempts"])
    # The same message again, on demand: same webhook-id, a fresh signature.
    ids = {r.headers["webhook-id"] for r in receiver.received}
    r = await shop.client.post(f"/api/admin/webhooks/{hook['id']}/deliveries/{d['id']}/redeliver", headers=h)
    assert r.status == 200, await r.text()
    again = await r.json()
    assert again["attempts"][0]["manual"] is True and again["attempts"][0]["statusCode"] == 200
    assert len(receiver.received) == 4 and receiver.received[-1].headers["webhook-id"] in ids
    assert all(m.verified for m in receiver.delivered())
    missing = await shop.client.post(
        f"/api/admin/webhooks/{hook['id']}/deliveries/00000000-0000-4000-8000-000000000000/redeliver", headers=h)
    assert missing.status == 404
    metrics = await (await shop.client.get("/metrics")).text()
    assert 'shop_webhook_deliveries_total{outcome="retry"} 2.0' in metrics


async def test_an_endpoint_failing_past_the_configured_period_is_disabled(hooks_shop: Any,
                                                                          receiver: Receiver) -> None:
    shop = await hooks_shop(disable_after_seconds=1, max_attempts=100)
    receiver.plan = lambda n: 500
    hook = await subscribe(shop, receiver, ("product.created", "product.updated"))

    async def disabled() -> bool:
        listed = await (await shop.client.get("/api/admin/webhooks", headers=ADMIN_H)).json()
        return not next(h for h in listed if h["id"] == hook["id"])["active"]

    p = await shop.product(price=1, stock=5)
    for _ in range(200):
        if await disabled():
            break
        await asyncio.sleep(0.05)
    listed = await (await shop.client.get("/api/admin/webhooks", headers=ADMIN_H)).json()
    mine = next(h for h in listed if h["id"] == hook["id"])
    assert mine["active"] is False and "failing for" in mine["disabledReason"]
    seen = len(receiver.received)
    await shop.bus.call(Catalog.adjust_stock, AdjustStock(id=p.id, delta=1), CallContext(principal=ADMIN))
    await asyncio.sleep(0.5)
    assert len(receiver.received) == seen  # nothing more is sent to a disabled endpoint
    metrics = await (await shop.client.get("/metrics")).text()
    assert "shop_webhook_endpoints_disabled_total 1.0" in metrics


async def test_private_targets_are_refused_unless_allowed(hooks_shop: Any, receiver: Receiver) -> None:
    shop = await hooks_shop(allow_private=False)
    for url in (receiver.url, "https://127.0.0.1/hook", "https://localhost/hook", "https://10.0.0.7/h",
                "https://[::1]/h", "https://[::ffff:127.0.0.1]/h", "https://169.254.169.254/latest/meta-data",
                "http://example.com/hook", "https://user:pw@example.com/h"):
        r = await shop.client.post("/api/admin/webhooks", headers=ADMIN_H, json={"url": url, "events": ["stock.low"]})
        assert r.status == 400, url
        assert (await r.json())["errors"][0]["field"] == "url"


async def test_resolution_is_checked_at_every_connection(receiver: Receiver) -> None:
    # A name that resolves to loopback is refused by the connector's resolver, whatever the URL check said.
    with pytest.raises(TargetRefused):
        await GuardedResolver(allow_private=False).resolve("localhost", 443)
    assert await GuardedResolver(allow_private=True).resolve("localhost", 443)
    assert not address_allowed("100.64.0.1", False) and not address_allowed("0.0.0.0", True)
    assert address_allowed("93.184.216.34", False)
    assert check_url("https://example.com/x", False) == ("example.com", 443)


async def test_a_redirect_is_never_followed(hooks_shop: Any, receiver: Receiver) -> None:
    shop = await hooks_shop(max_attempts=1)
    hook = await subscribe(shop, receiver, ("product.created",), url=receiver.redirect_url)
    await shop.product(price=1, stock=1)

    async def attempts() -> list[dict[str, Any]]:
        ds = await (await shop.client.get(f"/api/admin/webhooks/{hook['id']}/deliveries", headers=ADMIN_H)).json()
        return [a for d in ds for a in d["attempts"]]

    for _ in range(200):
        if await attempts():
            break
        await asyncio.sleep(0.05)
    logged = await attempts()
    assert logged[0]["statusCode"] == 302 and "redirect not followed" in logged[0]["error"]
    assert receiver.redirect_hits == 0


async def test_the_cli_manages_endpoints_through_the_same_service(hooks_shop: Any, receiver: Receiver,
                                                                  capsys: Any) -> None:
    import orjson

    from kernel.commands.cli import build_parser
    from plugins.webhooks.cli import commands

    shop = await hooks_shop()
    parser = build_parser(commands())

    async def run(*argv: str) -> Any:
        args = parser.parse_args(list(argv))
        assert await args.command_obj.run(args, shop.rt) == 0
        return orjson.loads(capsys.readouterr().out)

    created = await run("webhooks", "create", receiver.url, "order.paid", "stock.low")
    assert created["secret"].startswith("whsec_") and created["events"] == ["order.paid", "stock.low"]
    assert created["id"] in [h["id"] for h in await run("webhooks", "list")]
    assert await run("webhooks", "deliveries", created["id"]) == []
    assert (await run("webhooks", "delete", created["id"]))["deleted"] is True
    from kernel.host.plugin import CliError

    args = parser.parse_args(["webhooks", "create", receiver.url, "order.eaten"])
    with pytest.raises(CliError, match="unknown event type"):
        await args.command_obj.run(args, shop.rt)


async def test_a_name_that_resolves_to_a_private_address_is_refused_when_connecting(receiver: Receiver) -> None:
    import socket

    from plugins.webhooks.config import WebhooksConfig
    from plugins.webhooks.delivery import Sender

    host = socket.gethostname()  # resolves through /etc/hosts to a loopback or private address
    assert not address_allowed(socket.gethostbyname(host), False)
    sender = Sender(WebhooksConfig())
    try:
        out = await sender.post(f"https://{host}:{receiver.port}/hook", b"{}", {})
    finally:
        await sender.close()
    assert out.status is None and out.error is not None and out.error.startswith("target refused")
    assert receiver.received == []


async def test_an_admin_pauses_and_resumes_an_endpoint_and_a_paused_one_receives_nothing(
        hooks_shop: Any, receiver: Receiver) -> None:
    shop = await hooks_shop()
    c = shop.client
    hook = await subscribe(shop, receiver, ("product.created",))
    r = await c.patch(f"/api/admin/webhooks/{hook['id']}", json={"active": False}, headers=ADMIN_H)
    paused = await r.json()
    assert r.status == 200 and paused["active"] is False and paused["disabledReason"] == "paused by an admin"
    quiet = await shop.product(price=1, stock=1)
    # A marker endpoint that stays on: once it has the product, the paused one would have had it too.
    marker = Receiver()
    await marker.start()
    try:
        r = await c.post("/api/admin/webhooks", json={"url": marker.url, "events": ["product.created"]},
                         headers=ADMIN_H)
        marker.secret = (await r.json())["secret"]
        loud = await shop.product(price=1, stock=1)
        await eventually(lambda: "product.created" in types_for(marker, loud.id))
        assert types_for(receiver, quiet.id) == [] and types_for(receiver, loud.id) == []
    finally:
        await marker.stop()
    # Resuming over GraphQL: the same service; the endpoint is subscribed again.
    q = await c.post("/graphql", headers=ADMIN_H, json={
        "query": "mutation($id: ID!) { setWebhookActive(id: $id, active: true) { id active disabledAt disabledReason } }",
        "variables": {"id": hook["id"]}})
    resumed = (await q.json())["data"]["setWebhookActive"]
    assert resumed == {"id": hook["id"], "active": True, "disabledAt": None, "disabledReason": None}
    after = await shop.product(price=1, stock=1)
    await eventually(lambda: "product.created" in types_for(receiver, after.id))
    # Bad input and strangers.
    r = await c.patch(f"/api/admin/webhooks/{hook['id']}", json={"active": "yes"}, headers=ADMIN_H)
    assert r.status == 400
    r = await c.patch("/api/admin/webhooks/00000000-0000-0000-0000-000000000000", json={"active": True},
                      headers=ADMIN_H)
    assert r.status == 404
    r = await c.patch(f"/api/admin/webhooks/{hook['id']}", json={"active": False},
                      headers=principal_header("shopper"))
    assert r.status == 403


async def test_card_orders_say_created_when_created_and_cancelled_when_unpaid_ones_expire_or_are_cancelled(
        hooks_shop: Any, receiver: Receiver) -> None:
    from plugins.payments.service import PaymentsServicer
    from tests.payments.test_intents import SUCCEED, card_order, confirm, token

    shop = await hooks_shop()
    await subscribe(shop, receiver, ("order.created", "order.paid", "order.cancelled", "order.refunded"))
    paid_user, expired_user, cancel_user = (f"card-{n}-{id(shop)}" for n in ("paid", "expired", "cancel"))
    _p, paid = await card_order(shop, paid_user, qty=1)
    _p, expired = await card_order(shop, expired_user, qty=1)
    _p, cancelled = await card_order(shop, cancel_user, qty=1)
    r = await confirm(shop, paid_user, paid["payment"]["id"], await token(shop, SUCCEED))
    assert (await r.json())["status"] == "succeeded"
    # The payment deadline passes (as the expiry job sees it) and the job runs; the shopper cancels the third.
    await shop.rt.db.execute("UPDATE payments_intent SET expires_at = now() - interval '1 second' WHERE id = $1",
                             expired["payment"]["id"])
    assert await shop.rt.made("payments", PaymentsServicer).expire_due() >= 1
    r = await shop.client.post(f"/api/orders/{cancelled['id']}/cancel", headers=principal_header(cancel_user))
    assert r.status == 200 and (await r.json())["status"] == "cancelled"

    await eventually(lambda: "order.paid" in types_for(receiver, paid["id"])
                     and "order.cancelled" in types_for(receiver, expired["id"])
                     and "order.cancelled" in types_for(receiver, cancelled["id"]))
    # order.created once, when the order was created (unpaid), then order.paid.
    assert types_for(receiver, paid["id"]) == ["order.created", "order.paid"]
    # Nothing was paid: cancelled, never refunded.
    assert types_for(receiver, expired["id"]) == ["order.created", "order.cancelled"]
    assert types_for(receiver, cancelled["id"]) == ["order.created", "order.cancelled"]
    got = [(m.message["type"], m.message["data"]) for m in receiver.delivered() if m.verified]
    created = next(d for t, d in got if t == "order.created" and d["id"] == paid["id"])
    assert created["status"] == "awaiting_payment" and created["paymentMethod"] == "card"
    gone = next(d for t, d in got if t == "order.cancelled" and d["id"] == expired["id"])
    assert gone["status"] == "cancelled" and gone["cancelledAt"] is not None and gone["refundedMinor"] == 0
