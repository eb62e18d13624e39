"""The cart: one row per user plus its lines; every view is priced from the catalog's current prices."""

from __future__ import annotations

from collections import defaultdict

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from kernel.host.plugin import PluginBound
from plugins.catalog.contract import Catalog, GetProductsByIds, Product

from .contract import (
    MAX_QTY,
    AddToCart,
    Cart,
    CartLine,
    CartTotal,
    RemoveCartItem,
    RemoveCartVariant,
    SetCartItem,
    SetCartVariant,
)
from .store import parse_uuid

MAX_LINES = 100  # distinct variants in one cart; checkout reserves them in one call


def unknown_product() -> BusError:
    return BusError(Status.NOT_FOUND, "There is no such product.", reason="PRODUCT_NOT_FOUND",
                    field_errors=[("productId", "no such product")])


def unknown_variant() -> BusError:
    return BusError(Status.NOT_FOUND, "There is no such variant.", reason="VARIANT_NOT_FOUND",
                    field_errors=[("variantId", "no such variant")])


class CartStore(PluginBound):

    async def products(self, ids: list[str], ctx: CallContext, variant_ids: tuple[str, ...] = ()
                       ) -> dict[str, Product]:
        """The catalog's current view of ``ids`` (and of the products of ``variant_ids``); gone ones are absent."""
        if not ids and not variant_ids:
            return {}
        found = await self.bus.call(Catalog.get_products_by_ids,
                                    GetProductsByIds(ids=tuple(ids), variant_ids=variant_ids), ctx)
        return {p.id: p for p in found.items}

    async def _line_target(self, product_id: str, variant_id: str | None, ctx: CallContext) -> tuple[str, str]:
        """(product id, variant id) for a line addressed by product (and maybe variant)."""
        pid = parse_uuid(product_id)
        product = None if pid is None else (await self.products([pid], ctx)).get(pid)
        if pid is None or product is None:
            raise unknown_product()
        if variant_id is None:
            if len(product.variants) != 1:
                raise BusError(Status.INVALID_ARGUMENT,
                               f"This product comes in {len(product.variants)} variants; say which (variantId).",
                               reason="VARIANT_REQUIRED",
                               field_errors=[("variantId", f"is required: the product has {len(product.variants)} "
                                                           "variants")])
            return pid, product.variants[0].id
        vid = parse_uuid(variant_id)
        if vid is None or all(v.id != vid for v in product.variants):
            raise unknown_variant()
        return pid, vid

    async def _variant_target(self, variant_id: str, ctx: CallContext) -> tuple[str, str]:
        vid = parse_uuid(variant_id)
        if vid is not None:
            for p in (await self.products([], ctx, (vid,))).values():
                if any(v.id == vid for v in p.variants):
                    return p.id, vid
        raise unknown_variant()

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
            "SELECT product_id, variant_id, qty FROM orders_cart_item WHERE cart_id = $1 "
            "ORDER BY added_at, product_id, variant_id", cart_id)
        products = await self.products(list(dict.fromkeys(r["product_id"] for r in rows)), ctx)
        lines: list[CartLine] = []
        totals: dict[str, int] = defaultdict(int)
        for r in rows:
            p = products.get(r["product_id"])
            v = None if p is None else next((x for x in p.variants if x.id == r["variant_id"]), None)
            if p is None or v is None:
                continue  # deleted from the catalog: not shown, not bought
            line_total = v.price_minor * r["qty"]
            lines.append(CartLine(product_id=p.id, slug=p.slug, name=p.name, qty=r["qty"],
                                  unit_price_minor=v.price_minor, currency=v.currency, line_total_minor=line_total,
                                  variant_id=v.id, sku=v.sku, options=v.options))
            totals[v.currency] += line_total
        return Cart(id=cart_id, items=tuple(lines),
                    totals=tuple(CartTotal(currency=c, amount_minor=a) for c, a in sorted(totals.items())))

    # ------------------------------------------------------------------ methods

    async def get(self, user_id: str, ctx: CallContext) -> Cart:
        return await self.view(await self._cart_id(user_id), ctx)

    async def add(self, user_id: str, req: AddToCart, ctx: CallContext) -> Cart:
        pid, vid = await self._line_target(req.product_id, req.variant_id, ctx)
        async with self.db.transaction():
            cart_id = await self._lock_cart(user_id)
            await self._check_room(cart_id, vid)
            # Add to what is there, but only while the sum stays within the cap.
            qty = await self.db.fetchval(
                "INSERT INTO orders_cart_item (cart_id, product_id, variant_id, qty) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (cart_id, variant_id) DO UPDATE SET qty = orders_cart_item.qty + EXCLUDED.qty "
                "WHERE orders_cart_item.qty + EXCLUDED.qty <= $5 RETURNING qty",
                cart_id, pid, vid, req.qty, MAX_QTY)
            if qty is None:
                raise BusError(Status.INVALID_ARGUMENT, f"A cart holds at most {MAX_QTY} of one product.",
                               reason="QTY_LIMIT", field_errors=[("qty", f"would make the quantity exceed {MAX_QTY}")])
        return await self.view(cart_id, ctx)

    async def set(self, user_id: str, req: SetCartItem, ctx: CallContext) -> Cart:
        if req.qty == 0:
            return await self.remove(user_id, RemoveCartItem(product_id=req.product_id), ctx)
        pid, vid = await self._line_target(req.product_id, None, ctx)
        return await self._set_line(user_id, pid, vid, req.qty, ctx)

    async def set_variant(self, user_id: str, req: SetCartVariant, ctx: CallContext) -> Cart:
        if req.qty == 0:
            return await self.remove_variant(user_id, RemoveCartVariant(variant_id=req.variant_id), ctx)
        pid, vid = await self._variant_target(req.variant_id, ctx)
        return await self._set_line(user_id, pid, vid, req.qty, ctx)

    async def _set_line(self, user_id: str, pid: str, vid: str, qty: int, ctx: CallContext) -> Cart:
        async with self.db.transaction():
            cart_id = await self._lock_cart(user_id)
            await self._check_room(cart_id, vid)
            await self.db.execute(
                "INSERT INTO orders_cart_item (cart_id, product_id, variant_id, qty) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (cart_id, variant_id) DO UPDATE SET qty = EXCLUDED.qty", cart_id, pid, vid, qty)
        return await self.view(cart_id, ctx)

    async def remove(self, user_id: str, req: RemoveCartItem, ctx: CallContext) -> Cart:
        """Every line of the product goes."""
        return await self._remove_lines(user_id, "product_id", req.product_id, ctx)

    async def remove_variant(self, user_id: str, req: RemoveCartVariant, ctx: CallContext) -> Cart:
        return await self._remove_lines(user_id, "variant_id", req.variant_id, ctx)

    async def _remove_lines(self, user_id: str, column: str, value: str, ctx: CallContext) -> Cart:
        """Delete the lines whose ``column`` (product_id or variant_id, never input) is ``value``.
        Removing what is not there is not an error: the cart ends up as asked."""
        target = parse_uuid(value)
        async with self.db.transaction():
            cart_id = await self._lock_cart(user_id)
            if target is not None:
                await self.db.execute(f"DELETE FROM orders_cart_item WHERE cart_id = $1 AND {column} = $2",
                                      cart_id, target)
        return await self.view(cart_id, ctx)

    async def _check_room(self, cart_id: str, vid: str) -> None:
        count = await self.db.fetchval(
            "SELECT count(*) FILTER (WHERE variant_id <> $2) FROM orders_cart_item WHERE cart_id = $1", cart_id, vid)
        if count >= MAX_LINES:
            raise BusError(Status.FAILED_PRECONDITION, f"A cart holds at most {MAX_LINES} different products.",
                           reason="CART_FULL")
