"""Payment intents over HTTP: every state and transition, idempotent confirm, refunds, expiry, webhooks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginError, PluginInfo
from plugins.orders.contract import CreateFulfillment, CreateRefund, Orders
from plugins.payments.contract import CaptureIntent, Payments, ProviderResult, RefundPayment
from plugins.payments.service import PaymentsServicer
from plugins.testpay.provider import sign
from tests.orders.shop import ADMIN, Shop, new_user
from tests.support.fake_identity import principal_header

SUCCEED, ACTION, DECLINE, FAIL = "4242424242424242", "4000002500003155", "4000000000000002", "4000000000000119"


def internal() -> CallContext:
    """A fresh internal context per call: the bus sets a deadline on the context it is given."""
    return CallContext(depth=1)


async def token(shop: Shop, number: str) -> str:
    r = await shop.client.post("/test-provider/tokens",
                               json={"number": number, "expMonth": 12, "expYear": 2031, "cvc": "123"})
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["last4"] == number[-4:] and number not in orjson.dumps(body).decode()
    return str(body["token"])


async def card_order(shop: Shop, user: str, *, price: int = 700, qty: int = 2, stock: int = 5) -> tuple[Any, dict]:
    p = await shop.product(price=price, stock=stock)
    await shop.add(user, p.id, qty)
    r = await shop.client.post("/api/orders/checkout", json={"paymentMethod": "card", "currency": "EUR"},
                               headers=principal_header(user))
    assert r.status == 201, await r.text()
    return p, await r.json()


async def confirm(shop: Shop, user: str, intent_id: str, tok: str) -> Any:
    return await shop.client.post(f"/api/payments/{intent_id}/confirm", json={"paymentToken": tok},
                                  headers=principal_header(user))


async def order_of(shop: Shop, user: str, order_id: str) -> dict:
    r = await shop.client.get(f"/api/orders/{order_id}", headers=principal_header(user))
    return dict(await r.json())


async def test_card_checkout_holds_stock_and_confirming_with_a_token_pays_the_order_once(shop: Shop) -> None:
    user = new_user()
    p, order = await card_order(shop, user)
    assert order["status"] == "awaiting_payment" and order["totalMinor"] == 1400
    pay = order["payment"]
    assert pay["provider"] == "test" and pay["status"] == "requires_payment_method" and pay["clientSecret"]
    assert await shop.stock(p.id) == 3  # held while the payment is open
    tok = await token(shop, SUCCEED)
    r = await confirm(shop, user, pay["id"], tok)
    assert r.status == 200, await r.text()
    intent = await r.json()
    assert (intent["status"], intent["capturedMinor"], intent["last4"]) == ("succeeded", 1400, "4242")
    paid = await order_of(shop, user, order["id"])
    assert (paid["status"], paid["cardBrand"], paid["cardLast4"]) == ("paid", "visa", "4242")
    # Confirming again answers the same payment and charges nothing more.
    again = await confirm(shop, user, pay["id"], tok)
    assert again.status == 200 and (await again.json())["status"] == "succeeded"
    assert await shop.count("SELECT count(*) FROM testpay_charge WHERE token = $1", tok) == 1
    assert await shop.stock(p.id) == 3
    # Someone else's payment does not exist for them.
    r = await confirm(shop, new_user(), pay["id"], tok)
    assert r.status == 404


async def test_a_declined_card_leaves_the_order_awaiting_payment_and_another_card_can_pay(shop: Shop) -> None:
    user = new_user()
    p, order = await card_order(shop, user)
    pid = order["payment"]["id"]
    r = await confirm(shop, user, pid, await token(shop, DECLINE))
    assert r.status == 409 and (await r.json())["reason"] == "CARD_DECLINED"
    r = await shop.client.get(f"/api/payments/{pid}", headers=principal_header(user))
    assert (await r.json())["status"] == "requires_payment_method" and (await r.json())["lastError"] == "CARD_DECLINED"
    assert (await order_of(shop, user, order["id"]))["status"] == "awaiting_payment"
    r = await confirm(shop, user, pid, await token(shop, FAIL))
    assert r.status == 503 and (await r.json())["reason"] == "CARD_PROCESSING_ERROR"
    r = await confirm(shop, user, pid, await token(shop, SUCCEED))
    assert r.status == 200 and (await order_of(shop, user, order["id"]))["status"] == "paid"
    assert await shop.stock(p.id) == 3


async def test_a_card_demanding_an_extra_step_pays_once_the_step_is_done(shop: Shop) -> None:
    user = new_user()
    _p, order = await card_order(shop, user)
    pid = order["payment"]["id"]
    tok = await token(shop, ACTION)
    r = await confirm(shop, user, pid, tok)
    body = await r.json()
    assert r.status == 200 and body["status"] == "requires_action"
    assert body["nextAction"]["type"] == "redirect" and body["nextAction"]["url"].startswith("/test-provider/actions/")
    r = await confirm(shop, user, pid, tok)  # not done yet: still waiting
    assert (await r.json())["status"] == "requires_action"
    assert (await order_of(shop, user, order["id"]))["status"] == "awaiting_payment"
    r = await shop.client.post(body["nextAction"]["url"], json={})
    assert r.status == 200, await r.text()
    r = await confirm(shop, user, pid, tok)
    assert (await r.json())["status"] == "succeeded"
    assert (await order_of(shop, user, order["id"]))["status"] == "paid"
    # A token pays one payment only.
    _p2, other = await card_order(shop, user)
    r = await confirm(shop, user, other["payment"]["id"], tok)
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "paymentToken"


async def test_manual_capture_authorizes_at_confirmation_and_captures_at_fulfilment(make_shop: Any,
                                                                                    settings: Any) -> None:
    shop = await make_shop(settings_obj=settings.with_(plugin_config={"payments": {"capture": "manual"}}))
    user = new_user()
    _p, order = await card_order(shop, user)
    pid = order["payment"]["id"]
    r = await confirm(shop, user, pid, await token(shop, SUCCEED))
    assert (await r.json())["status"] == "requires_capture" and (await r.json())["capturedMinor"] == 0
    assert (await order_of(shop, user, order["id"]))["status"] == "paid"
    with pytest.raises(BusError) as exc:  # nothing captured, nothing to refund
        await shop.bus.call(Payments.refund, RefundPayment(id=pid, amount_minor=1, reference="r"), internal())
    assert exc.value.reason == "REFUND_EXCEEDS_PAYMENT"
    # The admin fulfils the order: the first parcel captures the payment, then it can be refunded.
    admin = CallContext(principal=ADMIN)
    shipped = await shop.bus.call(Orders.fulfil_order, CreateFulfillment(id=order["id"], carrier="DHL",
                                                                         tracking_number="T-1"), admin)
    assert shipped.status == "fulfilled"
    assert await shop.count("SELECT captured_minor FROM payments_intent WHERE id = $1 AND status = 'succeeded'",
                            pid) == 1400
    assert (await shop.bus.call(Payments.capture, CaptureIntent(id=pid), internal())).status == "succeeded"
    await shop.bus.call(Orders.fulfil_order, CreateFulfillment(id=order["id"], carrier="DHL", tracking_number="T-2"),
                        admin)  # a second parcel: nothing more to capture
    refunded = await shop.bus.call(Orders.refund_order, CreateRefund(id=order["id"], amount_minor=400), admin)
    assert refunded.status == "partially_refunded" and refunded.refunded_minor == 400
    # Cancelling an authorized-only order voids the authorization instead of refunding.
    _p, order2 = await card_order(shop, user)
    await confirm(shop, user, order2["payment"]["id"], await token(shop, SUCCEED))
    r = await shop.client.post(f"/api/orders/{order2['id']}/cancel", headers=principal_header(user))
    assert r.status == 200 and (await r.json())["status"] == "refunded"
    ref = await shop.rt.db.fetchval("SELECT provider_ref FROM payments_intent WHERE id = $1", order2["payment"]["id"])
    assert await shop.rt.db.fetchval("SELECT status FROM testpay_charge WHERE ref = $1", ref) == "voided"


async def test_partial_refunds_go_through_the_provider_once_per_reference_and_never_beyond(shop: Shop) -> None:
    user = new_user()
    _p, order = await card_order(shop, user)
    pid = order["payment"]["id"]
    await confirm(shop, user, pid, await token(shop, SUCCEED))

    async def refund(amount: int, reference: str) -> Any:
        return await shop.bus.call(Payments.refund, RefundPayment(id=pid, amount_minor=amount, reference=reference),
                                   internal())

    first = await refund(400, "return-1")
    assert await refund(400, "return-1") == first  # the same refund, not a second one
    with pytest.raises(BusError) as exc:
        await refund(500, "return-1")
    assert exc.value.reason == "REFUND_ALREADY_MADE"
    await refund(600, "return-2")
    with pytest.raises(BusError) as exc:
        await refund(401, "return-3")
    assert exc.value.reason == "REFUND_EXCEEDS_PAYMENT"
    results = await asyncio.gather(refund(400, "r-a"), refund(400, "r-b"), return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    row = await shop.rt.db.fetchrow("SELECT refunded_minor, provider_ref FROM payments_intent WHERE id = $1", pid)
    assert row["refunded_minor"] == 1400
    assert await shop.rt.db.fetchval("SELECT refunded_minor FROM testpay_charge WHERE ref = $1",
                                     row["provider_ref"]) == 1400
    assert await shop.count("SELECT count(*) FROM payments_refund WHERE intent_id = $1", pid) == 3


async def test_cancelling_an_unpaid_order_releases_its_stock_and_its_payment(shop: Shop) -> None:
    user = new_user()
    p, order = await card_order(shop, user)
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=principal_header(user))
    body = await r.json()
    assert r.status == 200 and body["status"] == "cancelled" and body["cancelReason"] == "CANCELLED_BY_CUSTOMER"
    assert await shop.stock(p.id) == 5
    r = await confirm(shop, user, order["payment"]["id"], await token(shop, SUCCEED))
    assert r.status == 409 and (await r.json())["reason"] == "PAYMENT_CANCELED"


async def test_expired_payments_are_released_exactly_once_by_concurrent_jobs(shop: Shop) -> None:
    users = [new_user() for _ in range(12)]
    p = await shop.product(price=100, stock=24)
    orders = []
    for u in users:
        await shop.add(u, p.id, 2)
        r = await shop.client.post("/api/orders/checkout", json={"paymentMethod": "card", "currency": "EUR"},
                                   headers=principal_header(u))
        orders.append(await r.json())
    assert await shop.stock(p.id) == 0
    # One buyer pays in time; the rest let their payment run out.
    await confirm(shop, users[0], orders[0]["payment"]["id"], await token(shop, SUCCEED))
    ids = [o["payment"]["id"] for o in orders]
    await shop.rt.db.execute("UPDATE payments_intent SET expires_at = now() - interval '1 second' "
                             "WHERE id = ANY($1::uuid[])", ids)
    servicer = shop.rt.made("payments", PaymentsServicer)
    # Many processes' jobs at once (each on its own connection): SKIP LOCKED splits the work.
    counts = await asyncio.gather(*(servicer.expire_due(limit=3) for _ in range(6)))
    while await servicer.expire_due(limit=3):
        pass
    assert sum(counts) <= 11
    assert await shop.stock(p.id) == 22  # 11 orders x 2 back, once each
    statuses = [(await order_of(shop, u, o["id"]))["status"] for u, o in zip(users, orders, strict=True)]
    assert statuses[0] == "paid" and set(statuses[1:]) == {"cancelled"}
    assert (await order_of(shop, users[1], orders[1]["id"]))["cancelReason"] == "PAYMENT_EXPIRED"
    r = await confirm(shop, users[1], ids[1], await token(shop, SUCCEED))
    assert r.status == 409 and (await r.json())["reason"] == "PAYMENT_CANCELED"


async def test_the_lifespan_job_expires_payments_on_its_own(make_shop: Any, settings: Any) -> None:
    shop = await make_shop(settings_obj=settings.with_(plugin_config={"payments": {"expiry_every_ms": 50}}))
    user = new_user()
    p, order = await card_order(shop, user)
    await shop.rt.db.execute("UPDATE payments_intent SET expires_at = now() WHERE id = $1", order["payment"]["id"])
    for _ in range(100):
        if (await order_of(shop, user, order["id"]))["status"] == "cancelled":
            break
        await asyncio.sleep(0.05)
    assert (await order_of(shop, user, order["id"]))["status"] == "cancelled" and await shop.stock(p.id) == 5


async def test_signed_provider_webhooks_confirm_and_bad_signatures_are_refused(shop: Shop) -> None:
    user = new_user()
    _p, order = await card_order(shop, user)
    pid = order["payment"]["id"]
    body = orjson.dumps({"type": "captured", "intentId": pid, "providerRef": "tp_ch_hook", "brand": "visa",
                         "last4": "4242"})
    secret = "testpay-webhook-secret"
    for headers in ({}, {"Testpay-Signature": sign("wrong-secret-wrong-secret", body)},
                    {"Testpay-Signature": sign(secret, body, int(time.time()) - 3600)},
                    {"Testpay-Signature": sign(secret, body + b" ")}):
        r = await shop.client.post("/test-provider/webhooks", data=body, headers=headers)
        assert r.status == 401, headers
        assert (await r.json())["reason"] == "BAD_SIGNATURE"
    assert (await order_of(shop, user, order["id"]))["status"] == "awaiting_payment"
    r = await shop.client.post("/test-provider/webhooks", data=body, headers={"Testpay-Signature": sign(secret, body)})
    assert r.status == 200 and (await r.json())["status"] == "succeeded"
    assert (await order_of(shop, user, order["id"]))["status"] == "paid"
    # Delivered twice (providers retry): nothing changes.
    r = await shop.client.post("/test-provider/webhooks", data=body, headers={"Testpay-Signature": sign(secret, body)})
    assert r.status == 200
    assert await shop.count("SELECT count(*) FROM orders_order WHERE id = $1 AND status = 'paid'", order["id"]) == 1


async def test_card_numbers_never_reach_the_shops_database_or_logs(shop: Shop, caplog: Any) -> None:
    number = "4111111111111111"
    caplog.set_level(logging.DEBUG)
    user = new_user()
    _p, order = await card_order(shop, user)
    tok = await token(shop, number)
    assert (await (await confirm(shop, user, order["payment"]["id"], tok)).json())["status"] == "succeeded"
    tables = [r["relname"] for r in await shop.rt.db.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname = 'public'")]
    assert "payments_intent" in tables and "testpay_token" in tables
    for table in tables:  # every row of every table, as text (what a dump would show)
        hits = await shop.rt.db.fetchval(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE $1', f"%{number}%")
        assert hits == 0, table
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert logged and number not in logged


async def test_a_plugin_adds_a_provider_through_the_hook_and_names_are_unique(make_client: Any,
                                                                             settings: Any) -> None:
    from tests.orders.shop import plugin_modules

    class SlowBank:
        name = "slowbank"

        async def authorize(self, **kw: Any) -> ProviderResult:
            return ProviderResult(status="captured", provider_ref=f"sb_{kw['intent_id']}", brand="visa", last4="0005")

        async def capture(self, **kw: Any) -> None: ...

        async def void(self, **kw: Any) -> None: ...

        async def refund(self, **kw: Any) -> str:
            return "sb_re"

        def verify_webhook(self, body: bytes, headers: Any) -> Any:
            raise NotImplementedError

    class BankPlugin:
        @staticmethod
        @hookimpl
        def shop_plugin() -> PluginInfo:
            return PluginInfo(name="slowbank", version="0.0.1", requires=("payments",))

        @staticmethod
        @hookimpl
        def shop_payment_providers(ctx: Any) -> list[Any]:
            return [SlowBank()]

    from tests.conftest import rt_of
    from tests.payments.conftest import LIMITS

    client = await make_client(plugins=[*plugin_modules(), BankPlugin], rate_limits=LIMITS,
                               settings_obj=settings.with_(plugin_config={"payments": {"provider": "slowbank"}}))
    shop = Shop(client=client, rt=rt_of(client))
    user = new_user()
    _p, order = await card_order(shop, user)
    assert order["payment"]["provider"] == "slowbank"
    r = await confirm(shop, user, order["payment"]["id"], "any-token")
    assert (await r.json())["last4"] == "0005"

    class Twin(BankPlugin):
        @staticmethod
        @hookimpl
        def shop_plugin() -> PluginInfo:
            return PluginInfo(name="twinbank", version="0.0.1", requires=("payments",))

    with pytest.raises(PluginError, match="slowbank"):
        await make_client(plugins=[*plugin_modules(), BankPlugin, Twin])


async def test_internal_payment_methods_refuse_direct_calls(shop: Shop) -> None:
    with pytest.raises(BusError) as exc:
        await shop.bus.call(Payments.refund, RefundPayment(id="x", amount_minor=1, reference="r"), CallContext())
    assert exc.value.status is Status.PERMISSION_DENIED


async def test_a_slow_provider_holds_no_lock_wallet_buyers_of_the_same_product_need(make_shop: Any,
                                                                                  settings: Any) -> None:
    shop = await make_shop(settings_obj=settings.with_(plugin_config={"testpay": {"delay_ms": 3000}}))
    card_buyer, wallet_buyer = new_user(), new_user()
    p, order = await card_order(shop, card_buyer, qty=1, stock=5)
    tok = await token(shop, SUCCEED)
    confirming = asyncio.create_task(confirm(shop, card_buyer, order["payment"]["id"], tok))
    for _ in range(200):  # until the confirmation is with the provider
        if await shop.rt.db.fetchval("SELECT status FROM payments_intent WHERE id = $1",
                                     order["payment"]["id"]) == "processing":
            break
        await asyncio.sleep(0.01)
    await shop.top_up(wallet_buyer, "EUR", 10_000)
    await shop.add(wallet_buyer, p.id, 2)
    r = await shop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR"},
                               headers=principal_header(wallet_buyer))
    assert r.status == 201 and (await r.json())["status"] == "paid"
    assert not confirming.done()  # the wallet order went through while the provider was still answering
    assert (await (await confirming).json())["status"] == "succeeded"
    assert await shop.stock(p.id) == 2


async def test_cancelling_a_paid_card_order_refunds_with_no_lock_wallet_buyers_need(make_shop: Any,
                                                                                   settings: Any) -> None:
    shop = await make_shop(settings_obj=settings.with_(plugin_config={"testpay": {"delay_ms": 1500}}))
    card_buyer, wallet_buyer = new_user(), new_user()
    p, order = await card_order(shop, card_buyer, price=700, qty=1, stock=2)
    pid = order["payment"]["id"]
    assert (await (await confirm(shop, card_buyer, pid, await token(shop, SUCCEED))).json())["status"] == "succeeded"
    cancelling = asyncio.create_task(shop.client.post(f"/api/orders/{order['id']}/cancel",
                                                      headers=principal_header(card_buyer)))
    for _ in range(300):  # until the order is claimed and the refund is with the provider
        if await shop.rt.db.fetchval("SELECT status FROM orders_order WHERE id = $1", order["id"]) == "refunded":
            break
        await asyncio.sleep(0.01)
    # The last unit in stock: its variant row is not locked by the cancellation in flight.
    await shop.top_up(wallet_buyer, "EUR", 10_000)
    await shop.add(wallet_buyer, p.id, 1)
    r = await shop.client.post("/api/orders/checkout", json={"walletCurrency": "EUR"},
                               headers=principal_header(wallet_buyer))
    assert r.status == 201 and (await r.json())["status"] == "paid"
    assert not cancelling.done()  # the wallet order went through while the provider was still refunding
    r = await cancelling
    body = await r.json()
    assert r.status == 200 and body["status"] == "refunded", body
    assert await shop.stock(p.id) == 1  # 2 - 1 (card) - 1 (wallet) + 1 (the cancelled card order)
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 700
    assert await shop.count("SELECT count(*) FROM testpay_refund r JOIN payments_intent i "
                            "ON i.provider_ref = r.charge_ref WHERE i.id = $1", pid) == 1


async def test_a_refund_the_provider_refuses_leaves_the_card_order_paid_and_a_retry_refunds_it_once(
        shop: Shop) -> None:
    user = new_user()
    p, order = await card_order(shop, user, price=700, qty=2, stock=5)
    pid = order["payment"]["id"]
    assert (await (await confirm(shop, user, pid, await token(shop, SUCCEED))).json())["status"] == "succeeded"
    ref = await shop.rt.db.fetchval("SELECT provider_ref FROM payments_intent WHERE id = $1", pid)
    # The provider will refuse: its charge is no longer refundable on its side.
    await shop.rt.db.execute("UPDATE testpay_charge SET status = 'voided' WHERE ref = $1", ref)
    h = principal_header(user)
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=h)
    assert r.status == 409 and (await r.json())["reason"] == "REFUND_REFUSED"
    again = await order_of(shop, user, order["id"])
    assert again["status"] == "paid" and again["cancelledAt"] is None
    assert await shop.stock(p.id) == 3  # still sold
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 0
    # The provider accepts again: the next cancel refunds it all, once, and gives the stock back once.
    await shop.rt.db.execute("UPDATE testpay_charge SET status = 'captured' WHERE ref = $1", ref)
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=h)
    assert r.status == 200 and (await r.json())["status"] == "refunded"
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=h)
    assert r.status == 409 and (await r.json())["reason"] == "ORDER_NOT_CANCELLABLE"
    assert await shop.stock(p.id) == 5
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 1400
    assert await shop.count("SELECT refunded_minor FROM testpay_charge WHERE ref = $1", ref) == 1400


async def test_the_test_provider_refunds_once_per_reference(shop: Shop) -> None:
    user = new_user()
    _p, order = await card_order(shop, user, price=700, qty=1)
    pid = order["payment"]["id"]
    assert (await (await confirm(shop, user, pid, await token(shop, SUCCEED))).json())["status"] == "succeeded"
    ref = await shop.rt.db.fetchval("SELECT provider_ref FROM payments_intent WHERE id = $1", pid)
    provider = shop.rt.made("payments", PaymentsServicer).providers["test"]
    first = await provider.refund(provider_ref=ref, amount_minor=300, currency="EUR", reference="r-1")
    assert await provider.refund(provider_ref=ref, amount_minor=300, currency="EUR", reference="r-1") == first
    with pytest.raises(BusError):  # the same reference for another amount: refused, not a second refund
        await provider.refund(provider_ref=ref, amount_minor=200, currency="EUR", reference="r-1")
    with pytest.raises(BusError):  # never beyond the charge
        await provider.refund(provider_ref=ref, amount_minor=401, currency="EUR", reference="r-2")
    assert await shop.count("SELECT refunded_minor FROM testpay_charge WHERE ref = $1", ref) == 300


async def test_an_intent_whose_owner_fails_does_not_stop_the_expiry_of_the_others(shop: Shop) -> None:
    from plugins.payments.contract import CreateIntent

    user = new_user()
    p, order = await card_order(shop, user, qty=1)
    # An intent its owner cannot resolve (its reference names no order): the owner raises on every outcome.
    bad = await shop.bus.call(Payments.create_intent, CreateIntent(
        user_id=user, purpose="order", reference="not-an-order", amount_minor=100, currency="EUR",
        notify=Orders.payment_outcome.full_name), internal())
    try:
        await shop.rt.db.execute("UPDATE payments_intent SET expires_at = now() - interval '1 hour' WHERE id = $1",
                                 bad.id)
        await shop.rt.db.execute("UPDATE payments_intent SET expires_at = now() - interval '1 second' "
                                 "WHERE id = $1", order["payment"]["id"])
        servicer = shop.rt.made("payments", PaymentsServicer)
        assert await servicer.expire_due(limit=1) == 0  # the bad one comes first: not expired, set aside
        for _ in range(20):  # batches of one, until this order's turn (other tests' intents may be due too)
            await servicer.expire_due(limit=1)
            if (await order_of(shop, user, order["id"]))["status"] == "cancelled":
                break
        assert (await order_of(shop, user, order["id"]))["status"] == "cancelled" and await shop.stock(p.id) == 5
        row = await shop.rt.db.fetchrow("SELECT status, last_error, expires_at > now() AS later "
                                        "FROM payments_intent WHERE id = $1", bad.id)
        assert row["status"] == "requires_payment_method" and row["last_error"] == "EXPIRY_NOTIFY_FAILED"
        assert row["later"]  # tried again later, behind the others
    finally:
        await shop.rt.db.execute("DELETE FROM payments_intent WHERE id = $1", bad.id)


async def test_a_card_cancellation_interrupted_after_its_claim_is_finished_by_the_next_cancel(shop: Shop) -> None:
    user = new_user()
    p, order = await card_order(shop, user, price=700, qty=2, stock=5)
    pid = order["payment"]["id"]
    assert (await (await confirm(shop, user, pid, await token(shop, SUCCEED))).json())["status"] == "succeeded"
    h = principal_header(user)
    # What a process that died right after claiming the cancellation leaves: refunded, no refund id, no refund.
    await shop.rt.db.execute("UPDATE orders_order SET status = 'refunded', cancelled_at = now() WHERE id = $1",
                             order["id"])
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=h)
    assert r.status == 409 and (await r.json())["reason"] == "ORDER_NOT_CANCELLABLE"  # maybe still in flight
    await shop.rt.db.execute("UPDATE orders_order SET cancelled_at = now() - interval '10 minutes' WHERE id = $1",
                             order["id"])
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=h)
    body = await r.json()
    assert r.status == 200 and body["status"] == "refunded", body
    assert await shop.stock(p.id) == 5
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 1400
    r = await shop.client.post(f"/api/orders/{order['id']}/cancel", headers=h)
    assert r.status == 409  # finished: nothing more to do
