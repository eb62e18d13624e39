"""Checkout and cancellation: stock, money and the order move in ONE database transaction.

Nested bus calls to catalog and wallet join the transaction opened here (the
kernel's Database shares it through Piccolo's context variable), so a refusal at
any step rolls back every step before it. See docs/orders.md for the full story.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from kernel.context import CallContext
from kernel.messages import INT64_MAX
from kernel.status import BusError, Status, precondition
from plugins.catalog.contract import Catalog, Product, ReserveStock, Restock, StockLine, Variant
from plugins.wallet.contract import (
    CardCharge,
    ChargeCard,
    ConvertAmount,
    Credit,
    Debit,
    Payments,
    RefundCharge,
    Wallets,
)

from .cart import CartStore
from .contract import CancelOrder, Checkout, Order, OrderCancelled, OrderPlaced
from .store import ORDER_COLUMNS, load_order, order_not_found, parse_uuid

log = logging.getLogger("shop.plugins.orders")

# Errors from Wallets.convert that mean "this pair cannot be converted" rather than "try again".
_NO_RATE = (Status.FAILED_PRECONDITION, Status.NOT_FOUND, Status.INVALID_ARGUMENT, Status.UNIMPLEMENTED)


@dataclass(frozen=True, slots=True)
class PricedLine:
    product: Product
    variant: Variant
    qty: int
    unit_minor: int  # in the order currency
    original_minor: int | None  # the catalog price when it was in another currency
    original_currency: str | None

    @property
    def total_minor(self) -> int:
        return self.unit_minor * self.qty


def payment_choice(req: Checkout) -> tuple[str, str]:
    """(method, order currency) from a checkout request: exactly one of wallet or card."""
    if req.wallet_currency is not None and req.card is None:
        if req.currency is not None and req.currency != req.wallet_currency:
            raise BusError(Status.INVALID_ARGUMENT, "currency must equal walletCurrency (or be left out)",
                           field_errors=[("currency", "must equal walletCurrency or be left out")])
        return "wallet", req.wallet_currency
    if req.card is not None and req.wallet_currency is None:
        if req.currency is None:
            raise BusError(Status.INVALID_ARGUMENT, "currency is required when paying by card",
                           field_errors=[("currency", "is required when paying by card")])
        return "card", req.currency
    msg = "give either walletCurrency or card (with currency), not both" if req.card is not None \
        else "give walletCurrency or card (with currency)"
    raise BusError(Status.INVALID_ARGUMENT, msg,
                   field_errors=[("walletCurrency", msg), ("card", msg)])


def cart_empty() -> BusError:
    return precondition("CART_EMPTY", "The cart is empty.")


class CheckoutFlow:
    def __init__(self, plugin_ctx: Any, carts: CartStore) -> None:
        self.pctx = plugin_ctx
        self.carts = carts

    @property
    def db(self) -> Any:
        return self.pctx.db

    @property
    def bus(self) -> Any:
        return self.pctx.bus

    # ---------------------------------------------------------------- checkout

    async def checkout(self, user_id: str, req: Checkout, ctx: CallContext) -> Order:
        method, currency = payment_choice(req)
        db = self.db
        async with db.transaction():
            # 1. Lock the cart row: two checkouts of one cart run one after the other;
            #    the second then finds the cart empty.
            cart_id = await db.fetchval("SELECT id FROM orders_cart WHERE user_id = $1 FOR UPDATE", user_id)
            rows = [] if cart_id is None else await db.fetch(
                "SELECT product_id, variant_id, qty FROM orders_cart_item WHERE cart_id = $1 "
                "ORDER BY added_at, product_id, variant_id", cart_id)
            # Lines whose product or variant left the catalog are not bought (the cart view hides them too).
            known = await self.carts.products(list(dict.fromkeys(r["product_id"] for r in rows)), ctx)
            wanted = [(r["product_id"], r["variant_id"], r["qty"]) for r in rows
                      if r["product_id"] in known and any(v.id == r["variant_id"] for v in known[r["product_id"]].variants)]
            if not wanted:
                raise cart_empty()
            # 2. Reserve stock: all or nothing, variant rows locked in id order by the catalog (OUT_OF_STOCK).
            reserved = await self.bus.call(
                Catalog.reserve_stock,
                ReserveStock(lines=tuple(StockLine(product_id=pid, variant_id=vid, qty=qty)
                                         for pid, vid, qty in wanted)), ctx)
            by_id = {p.id: p for p in reserved.items}
            # 3. Price each line at the price returned with the reservation, converted if needed.
            lines = [await self._price(by_id.get(pid) or known[pid], vid, qty, currency, ctx)
                     for pid, vid, qty in wanted]
            total = sum(line.total_minor for line in lines)
            if total > INT64_MAX:
                raise precondition("ORDER_TOO_LARGE", "The order total is too large.")
            # 4. The order, pending until paid (never visible as such: same transaction).
            order_id = str(await db.fetchval(
                "INSERT INTO orders_order (user_id, status, total_minor, currency, payment_method) "
                "VALUES ($1, 'pending', $2, $3, $4) RETURNING id", user_id, total, currency, method))
            await self._insert_items(order_id, currency, lines)
            reference = f"order:{order_id}"
            # 5. Pay. A refusal (INSUFFICIENT_FUNDS, CARD_DECLINED) rolls everything back.
            if method == "wallet":
                tx_id = None
                if total > 0:
                    receipt = await self.bus.call(
                        Wallets.debit, Debit(user_id=user_id, currency=currency, amount_minor=total,
                                             reference=reference), ctx)
                    tx_id = receipt.transaction_id
                await self._finish(order_id, cart_id, user_id, total, currency, method, lines, tx_id)
            else:
                assert req.card is not None
                if total == 0:
                    await self._finish(order_id, cart_id, user_id, total, currency, method, lines)
                else:
                    charge = await self.bus.call(
                        Payments.charge_card, ChargeCard(card=req.card, currency=currency, amount_minor=total,
                                                         reference=reference), ctx)
                    await self._finish_after_charge(charge, order_id, cart_id, user_id, total, currency, lines, ctx)
            return await load_order(db, order_id, user_id)

    async def _price(self, product: Product, variant_id: str, qty: int, currency: str, ctx: CallContext
                     ) -> PricedLine:
        variant = next(v for v in product.variants if v.id == variant_id)
        if variant.currency == currency:
            return PricedLine(product, variant, qty, variant.price_minor, None, None)
        # The wallet converts with exact rational arithmetic and rounds half-even, once per unit price,
        # so that every item's unitPriceMinor x qty adds up to the order total exactly.
        try:
            converted = await self.bus.call(
                Wallets.convert, ConvertAmount(amount_minor=variant.price_minor, from_currency=variant.currency,
                                               to_currency=currency), ctx)
        except BusError as exc:
            if exc.reason == "CURRENCY_MISMATCH":
                raise
            if exc.status in _NO_RATE:
                raise BusError(Status.FAILED_PRECONDITION,
                               f"No exchange rate from {variant.currency} to {currency} is configured.",
                               reason="CURRENCY_MISMATCH") from exc
            raise
        return PricedLine(product, variant, qty, converted.amount_minor, variant.price_minor, variant.currency)

    async def _insert_items(self, order_id: str, currency: str, lines: list[PricedLine]) -> None:
        await self.db.execute(
            "INSERT INTO orders_order_item (order_id, position, product_id, slug, name, qty, unit_price_minor, "
            "currency, line_total_minor, original_unit_price_minor, original_currency, variant_id, sku, options) "
            "SELECT $1, t.pos, t.pid, t.slug, t.name, t.qty, t.unit, $2, t.line, t.orig, t.ocur, t.vid, t.sku, t.opts "
            "FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[], $9::bigint[], "
            "$10::bigint[], $11::text[], $12::text[], $13::text[], $14::jsonb[]) "
            "AS t(pos, pid, slug, name, qty, unit, line, orig, ocur, vid, sku, opts)",
            order_id, currency,
            list(range(len(lines))), [x.product.id for x in lines], [x.product.slug for x in lines],
            [x.product.name for x in lines], [x.qty for x in lines], [x.unit_minor for x in lines],
            [x.total_minor for x in lines], [x.original_minor for x in lines], [x.original_currency for x in lines],
            [x.variant.id for x in lines], [x.variant.sku for x in lines],
            [orjson.dumps(x.variant.options).decode() for x in lines],
        )

    async def _finish(self, order_id: str, cart_id: Any, user_id: str, total: int, currency: str, method: str,
                      lines: list[PricedLine], wallet_tx_id: str | None = None) -> None:
        """Mark the order paid, empty the cart and announce the order (delivered after commit)."""
        await self.db.execute("UPDATE orders_order SET status = 'paid', paid_at = now(), wallet_transaction_id = $2 "
                              "WHERE id = $1", order_id, wallet_tx_id)
        await self.db.execute("DELETE FROM orders_cart_item WHERE cart_id = $1", cart_id)
        order = await load_order(self.db, order_id, user_id)  # the snapshot webhooks and mail carry
        await self.bus.publish(OrderPlaced(order_id=order_id, user_id=user_id, total_minor=total, currency=currency,
                                           payment_method=method,
                                           product_ids=tuple(dict.fromkeys(x.product.id for x in lines)),
                                           order=order))

    async def _finish_after_charge(self, charge: CardCharge, order_id: str, cart_id: Any, user_id: str, total: int,
                                   currency: str, lines: list[PricedLine], ctx: CallContext) -> None:
        """After a successful charge nothing may fail silently: on any error, refund it, then re-raise.

        The steps run under a savepoint so that a database error leaves the transaction usable
        for the refund (which a real gateway performs outside the database anyway).
        """
        await self.db.execute("SAVEPOINT orders_after_charge")
        try:
            await self.db.execute(
                "UPDATE orders_order SET card_brand = $2, card_last4 = $3, charge_id = $4 WHERE id = $1",
                order_id, charge.brand, charge.last4, charge.charge_id)
            await self._finish(order_id, cart_id, user_id, total, currency, "card", lines)
            await self.db.execute("RELEASE SAVEPOINT orders_after_charge")
        except BaseException:
            await self._compensate(charge, order_id, ctx)
            raise

    async def _compensate(self, charge: CardCharge, order_id: str, ctx: CallContext) -> None:
        # A fresh deadline: the failure may have been the caller's deadline running out.
        ctx = dataclasses.replace(ctx, deadline=time.monotonic() + 10)
        try:
            await self.db.execute("ROLLBACK TO SAVEPOINT orders_after_charge")
            await self.bus.call(Payments.refund_charge, RefundCharge(
                charge_id=charge.charge_id, amount_minor=charge.amount_minor,
                reference=f"order:{order_id}:compensation"), ctx)
            log.warning("checkout_charge_refunded", extra={"order_id": order_id, "charge_id": charge.charge_id})
        except Exception:
            log.exception("checkout_compensation_failed", extra={"order_id": order_id, "charge_id": charge.charge_id})

    # ------------------------------------------------------------------ cancel

    async def cancel(self, user_id: str, req: CancelOrder, ctx: CallContext) -> Order:
        oid = parse_uuid(req.id)
        if oid is None:
            raise order_not_found()
        db = self.db
        async with db.transaction():
            # The row lock makes cancel exactly-once: a concurrent cancel waits, then sees "refunded".
            row = await db.fetchrow(
                f"SELECT {ORDER_COLUMNS}, charge_id FROM orders_order WHERE id = $1 AND user_id = $2 FOR UPDATE",
                oid, user_id)
            if row is None:
                raise order_not_found()
            if row["status"] != "paid":
                raise precondition("ORDER_NOT_CANCELLABLE", f"An order that is {row['status']} cannot be cancelled.")
            items = await db.fetch("SELECT product_id, variant_id, qty FROM orders_order_item WHERE order_id = $1 "
                                   "ORDER BY position", oid)
            product_ids = list(dict.fromkeys(r["product_id"] for r in items))
            # The catalog skips variants deleted since the order; the rest get their stock back.
            await self.bus.call(Catalog.restock, Restock(
                lines=tuple(StockLine(product_id=r["product_id"], variant_id=r["variant_id"], qty=r["qty"])
                            for r in items)), ctx)
            await db.execute("UPDATE orders_order SET status = 'refunded', cancelled_at = now() WHERE id = $1", oid)
            # The money goes back last: it is the step other systems see.
            total, currency = row["total_minor"], row["currency"]
            refund_id: str | None = None
            if total > 0 and row["payment_method"] == "wallet":
                receipt = await self.bus.call(Wallets.credit, Credit(
                    # The wallet refunds against the payment's own reference, never more than was paid.
                    user_id=user_id, currency=currency, amount_minor=total, reference=f"order:{oid}"), ctx)
                refund_id = receipt.transaction_id
            elif total > 0 and row["charge_id"] is not None:
                refund = await self.bus.call(Payments.refund_charge, RefundCharge(
                    charge_id=row["charge_id"], amount_minor=total, reference=f"order:{oid}:refund"), ctx)
                refund_id = refund.refund_id
            await db.execute("UPDATE orders_order SET refund_id = $2 WHERE id = $1", oid, refund_id)
            order = await load_order(db, oid, user_id)
            await self.bus.publish(OrderCancelled(order_id=oid, user_id=user_id, total_minor=total,
                                                  currency=currency, product_ids=tuple(product_ids), order=order))
            return order
