"""64 shoppers, stock 10, all at the same moment: exactly 10 orders, no oversell, losers untouched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kernel.core.status import BusError
from plugins.orders.contract import Checkout, GetCart, Orders
from plugins.wallet.ledger import verify

from .shop import Shop, card, new_user, user_ctx

SHOPPERS = 64
STOCK = 10
PRICE = 1500
FUNDS = 5000

pytestmark = pytest.mark.slow


async def _rush(shop: Shop, pay: str) -> tuple[list[str], list[Any], list[Any]]:
    p = await shop.product(price=PRICE, stock=STOCK)
    users = [new_user() for _ in range(SHOPPERS)]
    for u in users:
        if pay == "wallet":
            await shop.top_up(u, "EUR", FUNDS)
        await shop.add(u, p.id, 1)
    req = {"wallet": Checkout(wallet_currency="EUR"), "card": Checkout(card=card(), currency="EUR")}[pay]
    start = asyncio.Event()

    async def buy(u: str) -> Any:
        await start.wait()
        return await shop.bus.call(Orders.checkout, req, user_ctx(u))

    tasks = [asyncio.create_task(buy(u)) for u in users]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    winners = [(u, r) for u, r in zip(users, results, strict=True) if not isinstance(r, BaseException)]
    losers = [(u, r) for u, r in zip(users, results, strict=True) if isinstance(r, BaseException)]
    assert len(winners) == STOCK, [repr(r) for _, r in losers if not isinstance(r, BusError)][:3]
    assert all(isinstance(r, BusError) and r.reason == "OUT_OF_STOCK" for _, r in losers)
    assert await shop.stock(p.id) == 0
    assert await shop.count("SELECT count(*) FROM orders_order WHERE user_id = ANY($1::text[])", users) == STOCK
    for u, _ in losers:  # each loser keeps their cart for later
        cart = await shop.bus.call(Orders.get_cart, GetCart(), user_ctx(u))
        assert [(line.product_id, line.qty) for line in cart.items] == [(p.id, 1)]
    return [p.id], winners, losers


async def test_sixty_four_wallet_shoppers_buy_exactly_the_ten_in_stock(shop: Shop) -> None:
    _, winners, losers = await _rush(shop, "wallet")
    for u, order in winners:
        assert order.status == "paid" and order.total_minor == PRICE
        assert await shop.balance(u, "EUR") == FUNDS - PRICE
    for u, _ in losers:
        assert await shop.balance(u, "EUR") == FUNDS
    assert await verify(shop.rt.db) == []


async def test_sixty_four_card_shoppers_buy_exactly_the_ten_in_stock(shop: Shop) -> None:
    _, winners, _losers = await _rush(shop, "card")
    refs = [order.id for _, order in winners]
    assert await shop.count("SELECT count(*) FROM payments_intent WHERE purpose = 'order' AND status = 'succeeded' "
                            "AND reference = ANY($1::text[])", refs) == STOCK
    # No payment succeeded for anyone who did not get a paid order.
    assert await shop.count(
        "SELECT count(*) FROM payments_intent i WHERE i.purpose = 'order' AND i.status = 'succeeded' "
        "AND NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id::text = i.reference AND o.status = 'paid')") == 0
    assert await verify(shop.rt.db) == []
