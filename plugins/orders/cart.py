"""The cart: one row per user plus its lines; every view is priced from the catalog's current prices."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kernel.context import CallContext
from kernel.status import BusError, Status
from plugins.catalog.contract import Catalog, GetProductsByIds, Product

from .contract import MAX_QTY, AddToCart, Cart, CartLine, CartTotal, RemoveCartItem, SetCartItem
from .store import parse_uuid

MAX_LINES = 100  # distinct products in one cart; checkout reserves them in one call


def unknown_product() -> BusError:
    return BusError(Status.NOT_FOUND, "There is no such product.", reason="PRODUCT_NOT_FOUND",
                    field_errors=[("productId", "no such product")])


class CartStore:
    def __init__(self, plugin_ctx: Any) -> None:
        self.pctx = plugin_ctx

    @property
    def db(self) -> Any:
        return self.pctx.db

    @property
    def bus(self) -> Any:
        return self.pctx.bus

    async def products(self, ids: list[str], ctx: CallContext) -> dict[str, Product]:
        """The catalog's current view of ``ids``; products it no longer has are absent."""
        if not ids:
            return {}
        found = await self.bus.call(Catalog.get_products_by_ids, GetProductsByIds(ids=tuple(ids)), ctx)
        return {p.id: p for p in found.items}

    async def _existing_product(self, product_id: str, ctx: CallContext) -> str:
        pid = parse_uuid(product_id)
        if pid is None or pid not in await self.products([pid], ctx):
            raise unknown_product()
        return pid

    async def _lock_cart(self, user_id: str) -> str:
        """Create the user's cart if needed, taking its row lock (writes to one cart serialize on it)."""
        return str(await self.db.fetchval(
            "INSERT INTO orders_cart (user_id) VALUES ($1) "
            "ON CONFLICT (user_id) DO UPDATE SET updated_at = now() RETURNING id", user_id))

    async def _cart_id(self, user_id: str) -> str:
        """The user's cart id without locking; created on first sight."""
        cart_id = await self.db.fetchval("SELECT id FROM orders_cart WHERE user_id = $1", user_id)
        if cart_id is None:
            cart_id = await self.db.fetchval(
                "INSERT INTO orders_cart (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING RETURNING id", user_id)
        if cart_id is None:  # created concurrently
            cart_id = await self.db.fetchval("SELECT id FROM orders_cart WHERE user_id = $1", user_id)
        return str(cart_id)

    async def view(self, cart_id: str, ctx: CallContext) -> Cart:
        rows = await self.db.fetch(
            "SELECT product_id, qty FROM orders_cart_item WHERE cart_id = $1 ORDER BY added_at, product_id", cart_id)
        products = await self.products([r["product_id"] for r in rows], ctx)
        lines: list[CartLine] = []
        totals: dict[str, int] = defaultdict(int)
        for r in rows:
            p = products.get(r["product_id"])
            if p is None:
                continue  # deleted from the catalog: not shown, not bought
            line_total = p.price_minor * r["qty"]
            lines.append(CartLine(product_id=p.id, slug=p.slug, name=p.name, qty=r["qty"],
                                  unit_price_minor=p.price_minor, currency=p.currency, line_total_minor=line_total))
            totals[p.currency] += line_total
        return Cart(id=cart_id, items=tuple(lines),
                    totals=tuple(CartTotal(currency=c, amount_minor=a) for c, a in sorted(totals.items())))

    # ------------------------------------------------------------------ methods

    async def get(self, user_id: str, ctx: CallContext) -> Cart:
        return await self.view(await self._cart_id(user_id), ctx)

    async def add(self, user_id: str, req: AddToCart, ctx: CallContext) -> Cart:
        pid = await self._existing_product(req.product_id, ctx)
        async with self.db.transaction():
            cart_id = await self._lock_cart(user_id)
            await self._check_room(cart_id, pid)
            # Add to what is there, but only while the sum stays within the cap.
            qty = await self.db.fetchval(
                "INSERT INTO orders_cart_item (cart_id, product_id, qty) VALUES ($1, $2, $3) "
                "ON CONFLICT (cart_id, product_id) DO UPDATE SET qty = orders_cart_item.qty + EXCLUDED.qty "
                "WHERE orders_cart_item.qty + EXCLUDED.qty <= $4 RETURNING qty",
                cart_id, pid, req.qty, MAX_QTY)
            if qty is None:
                raise BusError(Status.INVALID_ARGUMENT, f"A cart holds at most {MAX_QTY} of one product.",
                               reason="QTY_LIMIT", field_errors=[("qty", f"would make the quantity exceed {MAX_QTY}")])
        return await self.view(cart_id, ctx)

    async def set(self, user_id: str, req: SetCartItem, ctx: CallContext) -> Cart:
        if req.qty == 0:
            return await self.remove(user_id, RemoveCartItem(product_id=req.product_id), ctx)
        pid = await self._existing_product(req.product_id, ctx)
        async with self.db.transaction():
            cart_id = await self._lock_cart(user_id)
            await self._check_room(cart_id, pid)
            await self.db.execute(
                "INSERT INTO orders_cart_item (cart_id, product_id, qty) VALUES ($1, $2, $3) "
                "ON CONFLICT (cart_id, product_id) DO UPDATE SET qty = EXCLUDED.qty", cart_id, pid, req.qty)
        return await self.view(cart_id, ctx)

    async def remove(self, user_id: str, req: RemoveCartItem, ctx: CallContext) -> Cart:
        """Removing a line that is not there is not an error: the cart ends up as asked."""
        pid = parse_uuid(req.product_id)
        async with self.db.transaction():
            cart_id = await self._lock_cart(user_id)
            if pid is not None:
                await self.db.execute("DELETE FROM orders_cart_item WHERE cart_id = $1 AND product_id = $2",
                                      cart_id, pid)
        return await self.view(cart_id, ctx)

    async def _check_room(self, cart_id: str, pid: str) -> None:
        count = await self.db.fetchval(
            "SELECT count(*) FILTER (WHERE product_id <> $2) FROM orders_cart_item WHERE cart_id = $1", cart_id, pid)
        if count >= MAX_LINES:
            raise BusError(Status.FAILED_PRECONDITION, f"A cart holds at most {MAX_LINES} different products.",
                           reason="CART_FULL")

