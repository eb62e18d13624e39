"""Card refunds survive a crash: reserved with their refund row, finished once by reference.

A "crash" here is the request stopping after the reservation committed: the provider is
unreachable on the first call, the provider refunds and the process dies before it records the
answer, or the request task is cancelled mid-call (nothing in the shop's code runs after it).
Then the recovery jobs (orders and payments, called here as their lifespan tasks would, twice
at once as two processes would) finish the refund: the money goes back exactly once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError
from plugins.orders.service import OrdersServicer
from plugins.payments.contract import Payments, RefundPayment
from plugins.payments.service import PaymentsServicer
from tests.orders.shop import Shop, new_user
from tests.shipping.helpers import manager
from tests.support.fake_identity import principal_header

from .test_intents import SUCCEED, card_order, confirm, token


def internal() -> CallContext:
    """A fresh internal context per call: the bus sets a deadline on the context it is given."""
    return CallContext(depth=1)


class Flaky:
    """The real test provider behind a wrapper that fails one refund: before the call or after it."""

    def __init__(self, real: Any, *, when: str) -> None:
        self.real, self.when, self.failures, self.gate = real, when, 1, asyncio.Event()
        self.name = real.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def refund(self, **kw: Any) -> str:
        if self.failures and self.when == "hang":
            self.failures -= 1
            self.gate.set()
            await asyncio.Event().wait()  # the process is about to die
        if self.failures and self.when == "before":
            self.failures -= 1
            raise ConnectionError("provider unreachable")
        ref = await self.real.refund(**kw)
        if self.failures and self.when == "after":
            self.failures -= 1
            raise ConnectionError("the process died before recording the provider's answer")
        return str(ref)


async def paid_card_order(shop: Shop) -> tuple[str, str, str]:
    user = new_user()
    _p, order = await card_order(shop, user, price=700, qty=2, stock=5)
    pid = order["payment"]["id"]
    assert (await (await confirm(shop, user, pid, await token(shop, SUCCEED))).json())["status"] == "succeeded"
    ref = await shop.rt.db.fetchval("SELECT provider_ref FROM payments_intent WHERE id = $1", pid)
    return order["id"], pid, ref


def flaky(shop: Shop, when: str) -> Flaky:
    servicer = shop.rt.made("payments", PaymentsServicer)
    wrapper = Flaky(servicer.providers["test"], when=when)
    servicer.providers["test"] = wrapper
    return wrapper


async def admin_order(shop: Shop, oid: str) -> dict:
    r = await shop.client.get(f"/api/admin/orders/{oid}", headers=manager())
    assert r.status == 200
    return dict(await r.json())


async def lease_passes(shop: Shop) -> None:
    """What waiting out the request's lease does (no sleeping in tests)."""
    await shop.rt.db.execute("UPDATE orders_refund SET retry_at = now() - interval '1 second' "
                             "WHERE payment_refund_id IS NULL")
    await shop.rt.db.execute("UPDATE payments_refund SET retry_at = now() - interval '1 second' "
                             "WHERE provider_ref IS NULL")


async def recover(shop: Shop) -> None:
    orders = shop.rt.made("orders", OrdersServicer).admin
    payments = shop.rt.made("payments", PaymentsServicer)
    # Two processes at once: disjoint claims, and a refund done twice by a race is still one refund.
    await asyncio.gather(orders.finish_pending_refunds(), orders.finish_pending_refunds())
    await asyncio.gather(payments.finish_pending_refunds(), payments.finish_pending_refunds())


async def assert_refunded_once(shop: Shop, oid: str, pid: str, ref: str, amount: int) -> dict:
    order = await admin_order(shop, oid)
    assert order["refundedMinor"] == amount and [r["amountMinor"] for r in order["refunds"]] == [amount]
    assert order["status"] == "partially_refunded"
    assert await shop.count("SELECT count(*) FROM orders_refund WHERE order_id = $1 AND payment_refund_id IS NULL",
                            oid) == 0
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == amount
    assert await shop.count("SELECT count(*) FROM payments_refund WHERE intent_id = $1", pid) == 1
    assert await shop.count("SELECT refunded_minor FROM testpay_charge WHERE ref = $1", ref) == amount
    assert await shop.count("SELECT count(*) FROM testpay_refund WHERE charge_ref = $1", ref) == 1
    return order


@pytest.mark.parametrize("when", ["before", "after"])
async def test_an_admin_card_refund_the_request_could_not_finish_is_finished_once_by_the_recovery_job(
        shop: Shop, when: str) -> None:
    oid, pid, ref = await paid_card_order(shop)
    flaky(shop, when)
    r = await shop.client.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 500, "reason": "late"},
                               headers=manager())
    body = await r.json()
    assert r.status == 503 and body["reason"] == "REFUND_PENDING", body
    # The order shows the refund (the money is committed to go back); its record has no provider id yet.
    order = await admin_order(shop, oid)
    assert order["refundedMinor"] == 500 and order["status"] == "partially_refunded"
    assert await shop.count("SELECT count(*) FROM orders_refund WHERE order_id = $1 AND payment_refund_id IS NULL",
                            oid) == 1
    # Within the request's lease the job leaves it alone.
    await recover(shop)
    assert await shop.count("SELECT count(*) FROM orders_refund WHERE order_id = $1 AND payment_refund_id IS NULL",
                            oid) == 1
    await lease_passes(shop)
    await recover(shop)
    await assert_refunded_once(shop, oid, pid, ref, 500)
    # Nothing more happens however often the jobs run, and the rest can still be refunded.
    await lease_passes(shop)
    await recover(shop)
    await assert_refunded_once(shop, oid, pid, ref, 500)
    r = await shop.client.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 901}, headers=manager())
    assert r.status == 409 and (await r.json())["reason"] == "REFUND_EXCEEDS_PAID"


async def test_a_refund_request_killed_mid_call_is_finished_once_by_the_recovery_job(shop: Shop) -> None:
    oid, pid, ref = await paid_card_order(shop)
    wrapper = flaky(shop, "hang")
    task = asyncio.create_task(shop.client.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 300},
                                                headers=manager()))
    await wrapper.gate.wait()  # reservation committed, the provider being called
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await shop.count("SELECT refunded_minor FROM orders_order WHERE id = $1", oid) == 300
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 300
    assert await shop.count("SELECT count(*) FROM testpay_refund WHERE charge_ref = $1", ref) == 0
    await lease_passes(shop)
    await recover(shop)
    await assert_refunded_once(shop, oid, pid, ref, 300)


async def test_a_payment_refund_retried_after_the_provider_succeeded_counts_once(shop: Shop) -> None:
    _oid, pid, ref = await paid_card_order(shop)
    flaky(shop, "after")
    req = RefundPayment(id=pid, amount_minor=400, reference="crash-after-provider")
    with pytest.raises(BusError) as exc:
        await shop.bus.call(Payments.refund, req, internal())
    assert exc.value.reason == "REFUND_PENDING"
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 400
    # The caller retries with the same reference: the same refund, not a second reservation.
    again = await shop.bus.call(Payments.refund, req, internal())
    third = await shop.bus.call(Payments.refund, req, internal())
    assert again == third and again.provider_ref.startswith("tp_re_")
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 400
    assert await shop.count("SELECT refunded_minor FROM testpay_charge WHERE ref = $1", ref) == 400
    assert await shop.count("SELECT count(*) FROM testpay_refund WHERE charge_ref = $1", ref) == 1


async def test_the_payments_job_finishes_a_pending_refund_nobody_retries(shop: Shop) -> None:
    _oid, pid, ref = await paid_card_order(shop)
    flaky(shop, "before")
    with pytest.raises(BusError):
        await shop.bus.call(Payments.refund, RefundPayment(id=pid, amount_minor=250, reference="orphan"), internal())
    payments = shop.rt.made("payments", PaymentsServicer)
    assert await payments.finish_pending_refunds() == 0  # not due yet
    await lease_passes(shop)
    assert sum(await asyncio.gather(payments.finish_pending_refunds(), payments.finish_pending_refunds())) == 1
    assert await shop.count("SELECT count(*) FROM payments_refund WHERE intent_id = $1 AND provider_ref IS NULL",
                            pid) == 0
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 250
    assert await shop.count("SELECT refunded_minor FROM testpay_charge WHERE ref = $1", ref) == 250


async def test_a_refund_the_provider_refuses_gives_the_reservation_back_at_once(shop: Shop) -> None:
    oid, pid, ref = await paid_card_order(shop)
    await shop.rt.db.execute("UPDATE testpay_charge SET status = 'voided' WHERE ref = $1", ref)
    r = await shop.client.post(f"/api/admin/orders/{oid}/refunds", json={"amountMinor": 500}, headers=manager())
    assert r.status == 409 and (await r.json())["reason"] == "REFUND_REFUSED"
    order = await admin_order(shop, oid)
    assert order["refundedMinor"] == 0 and order["status"] == "paid" and order["refunds"] == []
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 0
    assert await shop.count("SELECT count(*) FROM payments_refund WHERE intent_id = $1", pid) == 0


@pytest.mark.parametrize("provider_state", ["never_called", "pending_refund"])
async def test_a_card_cancellation_interrupted_by_a_crash_is_finished_by_the_recovery_job(
        shop: Shop, provider_state: str) -> None:
    user = new_user()
    p, order = await card_order(shop, user, price=700, qty=2, stock=5)
    oid, pid = order["id"], order["payment"]["id"]
    assert (await (await confirm(shop, user, pid, await token(shop, SUCCEED))).json())["status"] == "succeeded"
    ref = await shop.rt.db.fetchval("SELECT provider_ref FROM payments_intent WHERE id = $1", pid)
    if provider_state == "pending_refund":
        # The shopper's cancel reached payments, which reserved the refund; the provider was unreachable.
        flaky(shop, "before")
        r = await shop.client.post(f"/api/orders/{oid}/cancel", headers=principal_header(user))
        assert r.status == 503 and (await r.json())["reason"] == "REFUND_PENDING"
    else:
        # What a process that died right after claiming the cancellation leaves: refunded, no refund id, no refund.
        await shop.rt.db.execute("UPDATE orders_order SET status = 'refunded', cancelled_at = now() WHERE id = $1",
                                 oid)
    flow = shop.rt.made("orders", OrdersServicer).flow
    assert await flow.finish_interrupted_cancellations() == 0  # claimed just now: maybe still in flight
    assert await shop.stock(p.id) == 3
    await shop.rt.db.execute("UPDATE orders_order SET cancelled_at = now() - interval '10 minutes' WHERE id = $1",
                             oid)
    # Nobody cancels again: two recovery runs at once finish it.
    await asyncio.gather(flow.finish_interrupted_cancellations(), flow.finish_interrupted_cancellations())
    got = await admin_order(shop, oid)
    assert got["status"] == "refunded" and got["cancelledAt"] is not None
    assert await shop.stock(p.id) == 5
    assert await shop.count("SELECT refund_id IS NOT NULL FROM orders_order WHERE id = $1", oid) == 1
    assert await shop.count("SELECT refunded_minor FROM payments_intent WHERE id = $1", pid) == 1400
    assert await shop.count("SELECT refunded_minor FROM testpay_charge WHERE ref = $1", ref) == 1400
    assert await shop.count("SELECT count(*) FROM testpay_refund WHERE charge_ref = $1", ref) == 1
    assert await flow.finish_interrupted_cancellations() == 0
