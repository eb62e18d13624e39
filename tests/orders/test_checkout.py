"""Checkout and cancellation over the bus: one transaction, refusals that move nothing, exactly-once refunds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kernel.core.context import CallContext
from kernel.core.events import Subscription
from kernel.core.status import BusError, Status
from plugins.catalog.contract import Catalog, DeleteById
from plugins.orders.contract import (
    CancelOrder,
    Checkout,
    GetCart,
    GetOrder,
    ListAllOrders,
    ListOrders,
    OrderCancelled,
    OrderPlaced,
    Orders,
)
from plugins.wallet.contract import Card
from plugins.wallet.ledger import verify

from .shop import ADMIN, DECLINED_CARD, Shop, card, new_user, user_ctx


def by_wallet(currency: str = "EUR") -> Checkout:
    return Checkout(wallet_currency=currency)


def by_card(currency: str = "EUR", number: str | None = None) -> Checkout:
    return Checkout(card=card(number) if number else card(), currency=currency)


async def checkout(shop: Shop, user: str, req: Checkout, key: str | None = None) -> Any:
    return await shop.bus.call(Orders.checkout, req, user_ctx(user, key))


async def refused(shop: Shop, user: str, req: Checkout) -> BusError:
    with pytest.raises(BusError) as err:
        await checkout(shop, user, req)
    return err.value


async def orders_of(shop: Shop, user: str) -> int:
    return await shop.count("SELECT count(*) FROM orders_order WHERE user_id = $1", user)


async def charges(shop: Shop) -> int:
    return await shop.count("SELECT count(*) FROM payments_intent WHERE status = 'succeeded'")


async def cart_lines(shop: Shop, user: str) -> list[tuple[str, int]]:
    cart = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(user))
    return [(line.product_id, line.qty) for line in cart.items]


async def test_wallet_checkout_takes_stock_and_money_and_empties_the_cart(shop: Shop) -> None:
    user = new_user()
    a, b = await shop.product(price=1250, stock=5), await shop.product(price=300, stock=5)
    await shop.top_up(user, "EUR", 10_000)
    await shop.add(user, a.id, 2)
    await shop.add(user, b.id, 3)
    order = await checkout(shop, user, by_wallet())
    assert (order.status, order.total_minor, order.currency, order.payment_method) == ("paid", 3400, "EUR", "wallet")
    assert [(i.product_id, i.qty, i.unit_price_minor, i.currency) for i in order.items] == [
        (a.id, 2, 1250, "EUR"), (b.id, 3, 300, "EUR")]
    assert order.card_last4 is None and order.created_at.endswith("Z")
    assert await shop.balance(user, "EUR") == 6600
    assert (await shop.stock(a.id), await shop.stock(b.id)) == (3, 2)
    assert await cart_lines(shop, user) == []
    assert await verify(shop.rt.db) == []


async def test_card_checkout_keeps_brand_and_last4_and_the_charge(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=999, stock=3)
    await shop.add(user, p.id, 2)
    order = await checkout(shop, user, by_card())
    assert (order.status, order.payment_method, order.total_minor) == ("paid", "card", 1998)
    assert (order.card_brand, order.card_last4) == ("visa", "4242")
    row = await shop.rt.db.fetchrow("SELECT amount_minor, last4 FROM payments_intent WHERE purpose = 'order' "
                                    "AND reference = $1 AND status = 'succeeded'", order.id)
    assert (row["amount_minor"], row["last4"]) == (1998, "4242")
    assert await shop.stock(p.id) == 1


async def test_checkout_with_too_little_money_moves_nothing(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=5000, stock=4)
    await shop.top_up(user, "EUR", 4999)
    await shop.add(user, p.id, 1)
    err = await refused(shop, user, by_wallet())
    assert (err.status, err.reason) == (Status.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")
    assert await shop.balance(user, "EUR") == 4999
    assert await shop.stock(p.id) == 4
    assert await orders_of(shop, user) == 0
    assert await cart_lines(shop, user) == [(p.id, 1)]
    assert await verify(shop.rt.db) == []


async def test_checkout_beyond_the_stock_moves_nothing(shop: Shop) -> None:
    user = new_user()
    plenty, scarce = await shop.product(price=10, stock=50), await shop.product(price=10, stock=2)
    await shop.top_up(user, "EUR", 10_000)
    await shop.add(user, plenty.id, 5)
    await shop.add(user, scarce.id, 3)
    err = await refused(shop, user, by_wallet())
    assert (err.status, err.reason) == (Status.FAILED_PRECONDITION, "OUT_OF_STOCK")
    assert (await shop.stock(plenty.id), await shop.stock(scarce.id)) == (50, 2)
    assert await shop.balance(user, "EUR") == 10_000
    assert await orders_of(shop, user) == 0
    assert await cart_lines(shop, user) == [(plenty.id, 5), (scarce.id, 3)]


async def test_checkout_of_an_empty_cart_is_cart_empty(shop: Shop) -> None:
    user = new_user()
    err = await refused(shop, user, by_wallet())
    assert (err.status, err.reason) == (Status.FAILED_PRECONDITION, "CART_EMPTY")
    # A cart holding only products deleted from the catalog is empty too.
    p = await shop.product(price=10)
    await shop.add(user, p.id, 1)
    await shop.bus.call(Catalog.delete_product, DeleteById(id=p.id), CallContext(principal=ADMIN))
    err = await refused(shop, user, by_card())
    assert err.reason == "CART_EMPTY"
    assert await orders_of(shop, user) == 0


async def test_declined_card_leaves_nothing_behind(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=700, stock=6)
    await shop.add(user, p.id, 2)
    before = await charges(shop)
    err = await refused(shop, user, by_card(number=DECLINED_CARD))
    assert (err.status, err.reason) == (Status.FAILED_PRECONDITION, "CARD_DECLINED")
    assert await shop.stock(p.id) == 6
    assert await charges(shop) == before
    assert await orders_of(shop, user) == 0
    assert await cart_lines(shop, user) == [(p.id, 2)]


async def test_a_currency_without_a_rate_is_refused_and_moves_nothing(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=1000, currency="CHF", stock=3)  # no CHF/GBP rate is configured
    await shop.top_up(user, "GBP", 50_000)
    await shop.add(user, p.id, 1)
    err = await refused(shop, user, by_wallet("GBP"))
    assert (err.status, err.reason) == (Status.FAILED_PRECONDITION, "CURRENCY_MISMATCH")
    assert await shop.balance(user, "GBP") == 50_000
    assert await shop.stock(p.id) == 3
    assert await orders_of(shop, user) == 0


async def test_lines_in_another_currency_are_converted_per_unit_rounding_half_even(shop: Shop) -> None:
    user = new_user()
    # EUR/USD 1.087 (the wallet's default rate): 15.00 EUR = 16.305 USD -> 16.30 (half-even, not 16.31).
    eur = await shop.product(price=1500, currency="EUR", stock=5)
    usd = await shop.product(price=200, currency="USD", stock=5)
    await shop.top_up(user, "USD", 100_000)
    await shop.add(user, eur.id, 2)
    await shop.add(user, usd.id, 1)
    order = await checkout(shop, user, by_wallet("USD"))
    converted, native = order.items
    assert (converted.unit_price_minor, converted.currency, converted.line_total_minor) == (1630, "USD", 3260)
    assert (converted.original_unit_price_minor, converted.original_currency) == (1500, "EUR")
    assert (native.unit_price_minor, native.original_currency) == (200, None)
    assert order.total_minor == 3460 == sum(i.unit_price_minor * i.qty for i in order.items)
    assert await shop.balance(user, "USD") == 100_000 - 3460


async def test_replayed_checkout_returns_the_same_order_and_charges_once(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=450, stock=10)
    await shop.add(user, p.id, 2)
    before = await charges(shop)
    first = await checkout(shop, user, by_card(), key="checkout-1")
    await shop.add(user, p.id, 1)  # a new cart: a replay must still not buy it
    again = await checkout(shop, user, by_card(), key="checkout-1")
    assert again == first
    assert await charges(shop) == before + 1
    assert await orders_of(shop, user) == 1
    assert await shop.stock(p.id) == 8
    # The same key with another body is refused, not replayed.
    with pytest.raises(BusError) as err:
        await checkout(shop, user, by_card(currency="USD"), key="checkout-1")
    assert err.value.reason == "IDEMPOTENCY_KEY_REUSED"


async def test_two_checkouts_of_one_cart_at_once_make_one_order(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=100, stock=10)
    await shop.top_up(user, "EUR", 10_000)
    await shop.add(user, p.id, 3)
    results = await asyncio.gather(checkout(shop, user, by_wallet()), checkout(shop, user, by_wallet()),
                                   return_exceptions=True)
    errors = [r for r in results if isinstance(r, BusError)]
    assert len(errors) == 1 and errors[0].reason == "CART_EMPTY"
    assert await orders_of(shop, user) == 1
    assert await shop.stock(p.id) == 7 and await shop.balance(user, "EUR") == 9700


@pytest.mark.parametrize("req, fields", [
    (Checkout(), {"walletCurrency", "card"}),
    (Checkout(wallet_currency="EUR", card=Card(number="4242424242424242", exp_month=1, exp_year=2099, cvc="123"),
              currency="EUR"), {"walletCurrency", "card"}),
    (Checkout(card=Card(number="4242424242424242", exp_month=1, exp_year=2099, cvc="123")), {"currency"}),
    (Checkout(wallet_currency="EUR", currency="USD"), {"currency"}),
])
async def test_checkout_needs_exactly_one_way_to_pay(shop: Shop, req: Checkout, fields: set[str]) -> None:
    err = await refused(shop, new_user(), req)
    assert err.status is Status.INVALID_ARGUMENT
    assert {f for f, _ in err.field_errors} == fields


async def test_cancel_refunds_and_restocks_exactly_once(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=800, stock=5)
    await shop.top_up(user, "EUR", 2000)
    await shop.add(user, p.id, 2)
    order = await checkout(shop, user, by_wallet())
    assert await shop.balance(user, "EUR") == 400
    cancelled = await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user))
    assert cancelled.status == "refunded" and cancelled.cancelled_at is not None
    assert await shop.balance(user, "EUR") == 2000
    assert await shop.stock(p.id) == 5
    with pytest.raises(BusError) as err:
        await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user))
    assert (err.value.status, err.value.reason) == (Status.FAILED_PRECONDITION, "ORDER_NOT_CANCELLABLE")
    assert await shop.balance(user, "EUR") == 2000 and await shop.stock(p.id) == 5
    assert await verify(shop.rt.db) == []


async def test_concurrent_cancels_refund_once(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=100, stock=5)
    await shop.top_up(user, "EUR", 1000)
    await shop.add(user, p.id, 1)
    order = await checkout(shop, user, by_wallet())
    results = await asyncio.gather(*(shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user))
                                     for _ in range(4)), return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(r.reason == "ORDER_NOT_CANCELLABLE" for r in results if isinstance(r, BusError))
    assert await shop.balance(user, "EUR") == 1000 and await shop.stock(p.id) == 5


async def test_cancelling_a_card_order_refunds_the_charge(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=1234, stock=2)
    await shop.add(user, p.id, 1)
    order = await checkout(shop, user, by_card())
    cancelled = await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user), )
    assert cancelled.status == "refunded"
    row = await shop.rt.db.fetchrow("SELECT refunded_minor FROM payments_intent WHERE purpose = 'order' "
                                    "AND reference = $1", order.id)
    assert row["refunded_minor"] == 1234
    assert await shop.stock(p.id) == 2


async def test_a_cancel_replayed_with_the_same_key_returns_the_first_answer(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=500, stock=2)
    await shop.top_up(user, "EUR", 500)
    await shop.add(user, p.id, 1)
    order = await checkout(shop, user, by_wallet())
    first = await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user, "cancel-1"))
    again = await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user, "cancel-1"))
    assert again == first and again.status == "refunded"
    assert await shop.balance(user, "EUR") == 500


async def test_orders_of_others_and_malformed_ids_are_not_found(shop: Shop) -> None:
    owner, other = new_user(), new_user()
    p = await shop.product(price=100)
    await shop.add(owner, p.id, 1)
    order = await checkout(shop, owner, by_card())
    for user, oid in ((other, order.id), (owner, "not-a-uuid"), (owner, "00000000-0000-4000-8000-000000000000")):
        for method, req in ((Orders.get_order, GetOrder(id=oid)), (Orders.cancel_order, CancelOrder(id=oid))):
            with pytest.raises(BusError) as err:
                await shop.bus.call(method, req, user_ctx(user))
            assert err.value.status is Status.NOT_FOUND
    assert (await shop.bus.call(Orders.get_order, GetOrder(id=order.id), user_ctx(owner))).status == "paid"


async def test_history_is_paged_newest_first(shop: Shop) -> None:
    user = new_user()
    p = await shop.product(price=10, stock=100)
    ids = []
    for qty in (1, 2, 3):
        await shop.add(user, p.id, qty)
        ids.append((await checkout(shop, user, by_card())).id)
    page1 = await shop.bus.call(Orders.list_orders, ListOrders(page=1, page_size=2), user_ctx(user))
    page2 = await shop.bus.call(Orders.list_orders, ListOrders(page=2, page_size=2), user_ctx(user))
    assert (page1.total, page1.page, page1.page_size) == (3, 1, 2)
    assert [o.id for o in page1.items + page2.items] == ids[::-1]
    assert [o.items[0].qty for o in page1.items] == [3, 2]
    other = await shop.bus.call(Orders.list_orders, ListOrders(), user_ctx(new_user()))
    assert other.total == 0 and other.items == ()


async def test_admin_lists_everyones_orders_and_shoppers_may_not(shop: Shop) -> None:
    a, b = new_user(), new_user()
    p = await shop.product(price=10, stock=10)
    for user in (a, b):
        await shop.add(user, p.id, 1)
        await checkout(shop, user, by_card())
    page = await shop.bus.call(Orders.list_all_orders, ListAllOrders(page_size=100), CallContext(principal=ADMIN))
    assert {a, b} <= {o.user_id for o in page.items}
    mine = await shop.bus.call(Orders.list_all_orders, ListAllOrders(user_id=a), CallContext(principal=ADMIN))
    assert [o.user_id for o in mine.items] == [a]
    with pytest.raises(BusError) as err:
        await shop.bus.call(Orders.list_all_orders, ListAllOrders(), user_ctx(a))
    assert err.value.status is Status.PERMISSION_DENIED


async def test_events_are_delivered_after_commit_in_order_and_never_for_a_refusal(shop: Shop) -> None:
    seen: list[Any] = []

    async def record(event: Any) -> None:
        seen.append(event)

    shop.rt.events.subscribe(Subscription(OrderPlaced, record))
    shop.rt.events.subscribe(Subscription(OrderCancelled, record))
    user = new_user()
    p = await shop.product(price=10, stock=1)
    await shop.add(user, p.id, 1)
    await refused(shop, user, by_card(number=DECLINED_CARD))
    assert seen == []
    order = await checkout(shop, user, by_card())
    await shop.bus.call(Orders.cancel_order, CancelOrder(id=order.id), user_ctx(user))
    for _ in range(500):  # durable subscribers run on the outbox worker, shortly after commit
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    assert [type(e) for e in seen] == [OrderPlaced, OrderCancelled]
    assert seen[0].order is not None and seen[0].order.status == "paid"
    assert seen[1].order is not None and seen[1].order.status == "refunded"
    assert seen[0].order_id == order.id and seen[0].product_ids == (p.id,)
    assert seen[1].order_id == order.id and seen[1].total_minor == 10


async def test_a_failure_after_the_card_charge_refunds_it_and_leaves_nothing(shop: Shop, caplog: Any) -> None:
    user = new_user()
    # A real database failure injected after the charge: marking this user's order paid by card raises.
    await shop.rt.db.execute(f"""
        CREATE OR REPLACE FUNCTION orders_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure after charge'; END $$;
        CREATE TRIGGER orders_test_fail_{user.replace('-', '_')} BEFORE UPDATE ON orders_order FOR EACH ROW
            WHEN (NEW.user_id = '{user}' AND NEW.charge_id IS NOT NULL) EXECUTE FUNCTION orders_test_fail();
    """)
    try:
        p = await shop.product(price=300, stock=4)
        await shop.add(user, p.id, 1)
        before = await charges(shop)
        with pytest.raises(Exception, match="injected failure"):
            await checkout(shop, user, by_card())
    finally:
        await shop.rt.db.execute(f"DROP TRIGGER orders_test_fail_{user.replace('-', '_')} ON orders_order")
    assert any(r.getMessage() == "payment_undone" for r in caplog.records)
    assert await charges(shop) == before
    assert await shop.stock(p.id) == 4
    assert await orders_of(shop, user) == 0
    assert await cart_lines(shop, user) == [(p.id, 1)]
