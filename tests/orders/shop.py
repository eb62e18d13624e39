"""Helpers for the orders tests: an app with catalog, wallet, orders and the test identity header.

Everything runs against the real PostgreSQL and Redis of the session (tests/conftest.py).
Helpers here go through the bus exactly like another plugin or an adapter would.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import plugins.auth
import plugins.catalog
import plugins.orders
import plugins.payments
import plugins.testpay
import plugins.wallet
from kernel.core.context import CallContext
from kernel.engine.runtime import Runtime
from plugins.catalog.contract import Catalog, CreateCategory, CreateProduct, GetProductsByIds, Product
from plugins.orders.contract import AddToCart, Orders
from plugins.wallet.contract import Card, ListWallets, TopUp, Wallets
from tests.support import fake_identity
from tests.support.fake_identity import ALL_USER_SCOPES, user_principal

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
# As auth issues it: admin and the scopes it implies.
ADMIN = user_principal("admin-1", roles=("admin",), scopes=(*ALL_USER_SCOPES, "admin", "orders:manage",
                                                            "catalog:write"))
_seq = itertools.count()


def card(number: str = GOOD_CARD) -> Card:
    return Card(number=number, exp_month=12, exp_year=2099, cvc="123", holder="Test Shopper")


def user_ctx(user_id: str, key: str | None = None) -> CallContext:
    return CallContext(principal=user_principal(user_id), idempotency_key=key)


def plugin_modules() -> list[object]:
    """Catalog, wallet, orders and whatever they declare they need, plus the test identity."""
    mods: dict[str, Any] = {"catalog": plugins.catalog, "wallet": plugins.wallet, "orders": plugins.orders,
                            "payments": plugins.payments, "testpay": plugins.testpay}
    for name in ("catalog", "wallet", "orders"):
        for req in mods[name].shop_plugin().requires:
            if req == "auth":
                mods["auth"] = plugins.auth
    return [*mods.values(), fake_identity]


@dataclass
class Shop:
    client: Any
    rt: Runtime

    @property
    def bus(self) -> Any:
        return self.rt.bus

    async def product(self, *, price: int, currency: str = "EUR", stock: int = 10) -> Product:
        n = next(_seq)
        admin = CallContext(principal=ADMIN)
        tag = uuid.uuid4().hex[:8]
        cat = await self.bus.call(Catalog.create_category, CreateCategory(slug=f"cat-{tag}-{n}", name=f"Cat {n}"),
                                  admin)
        return await self.bus.call(Catalog.create_product, CreateProduct(
            slug=f"prod-{tag}-{n}", name=f"Product {n}", category_id=cat.id, price_minor=price, currency=currency,
            stock_qty=stock), admin)

    async def stock(self, product_id: str) -> int:
        found = await self.bus.call(Catalog.get_products_by_ids, GetProductsByIds(ids=(product_id,)),
                                    CallContext().nested())
        return found.items[0].stock_qty

    async def top_up(self, user_id: str, currency: str, amount: int) -> None:
        await self.bus.call(Wallets.top_up, TopUp(currency=currency, amount_minor=amount), user_ctx(user_id))

    async def balance(self, user_id: str, currency: str) -> int:
        wallets = await self.bus.call(Wallets.list_wallets, ListWallets(), user_ctx(user_id))
        return next((w.balance_minor for w in wallets if w.currency == currency), 0)

    async def add(self, user_id: str, product_id: str, qty: int) -> Any:
        return await self.bus.call(Orders.add_to_cart, AddToCart(product_id=product_id, qty=qty), user_ctx(user_id))

    async def count(self, sql: str, *args: Any) -> int:
        return int(await self.rt.db.fetchval(sql, *args))


def new_user() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"




__all__ = ["ADMIN", "DECLINED_CARD", "GOOD_CARD", "Shop", "card", "new_user", "plugin_modules", "user_ctx"]
