"""Checkout and cancellation: stock, money and the order move in ONE database transaction.

Nested bus calls to catalog and wallet join the transaction opened here (the
kernel's Database shares it through Piccolo's context variable), so a refusal at
any step rolls back every step before it. See docs/orders.md for the full story.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from kernel.core.context import CallContext
from kernel.core.messages import INT64_MAX
from kernel.core.status import BusError, Status, precondition
from kernel.host.plugin import PluginBound
from plugins.catalog.contract import Catalog, Product, Restock, StockLine, TakeStock, Variant
from plugins.payments.contract import (
    Ack,
    CancelIntent,
    CreateIntent,
    PaymentOutcome,
    Payments,
    PayNow,
)
from plugins.wallet.contract import ConvertAmount, Credit, Debit, Wallets

from .cart import CartStore
from .config import OrdersConfig
from .contract import (
    CancelOrder,
    Checkout,
    CheckoutQuote,
    Order,
    OrderCancelled,
    OrderCreated,
    OrderPayment,
    OrderPlaced,
    Orders,
    QuoteCheckout,
)
from .fulfilment import FulfilmentStep, PriceParts
from .guest_session import is_guest
from .lifecycle import check_transition
from .store import ORDER_COLUMNS, load_order, load_unpaid_until_now, order_not_found, parse_uuid

log = logging.getLogger("shop.plugins.orders")

# A card cancellation claimed this long ago without a refund id was interrupted: the next cancel finishes it.
CANCEL_STALE_S = 120.0

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


def payment_choice(req: Checkout, demo: bool) -> tuple[str, str]:
    """(how, order currency): how is "wallet", "intent" (card, confirmed later) or "demo_card" (raw card, demo)."""
    method = req.payment_method
    if method is None:
        method = "card" if req.card is not None else "wallet" if req.wallet_currency is not None else None
    if method == "wallet" and req.card is None:
        currency = req.wallet_currency or req.currency
        if currency is None:
            raise BusError(Status.INVALID_ARGUMENT, "walletCurrency is required when paying by wallet",
                           field_errors=[("walletCurrency", "is required when paying by wallet")])
        if req.currency is not None and req.wallet_currency is not None and req.currency != req.wallet_currency:
            raise BusError(Status.INVALID_ARGUMENT, "currency must equal walletCurrency (or be left out)",
                           field_errors=[("currency", "must equal walletCurrency or be left out")])
        return "wallet", currency
    if method == "card" and req.wallet_currency is None:
        if req.currency is None:
            raise BusError(Status.INVALID_ARGUMENT, "currency is required when paying by card",
                           field_errors=[("currency", "is required when paying by card")])
        if req.card is not None and not demo:
            # Card numbers never cross the shop's API outside demo mode: the provider's script tokenizes.
            raise BusError(Status.INVALID_ARGUMENT,
                           'card data is accepted only in demo mode: send paymentMethod "card" and confirm the '
                           "payment with a token from the provider's script",
                           field_errors=[("card", "is accepted only in demo mode")])
        return ("demo_card" if req.card is not None else "intent"), req.currency
    msg = "give either walletCurrency or card (with currency), not both" if req.card is not None \
        else "give walletCurrency, or paymentMethod \"card\" with currency"
    raise BusError(Status.INVALID_ARGUMENT, msg,
                   field_errors=[("walletCurrency", msg), ("card", msg)])


def status_of(how: str, total: int) -> str:
    """A wallet order is paid at checkout; a card order with something to pay awaits its payment."""
    return "awaiting_payment" if how != "wallet" and total > 0 else "paid"


def cart_empty() -> BusError:
    return precondition("CART_EMPTY", "The cart is empty.")


def too_many_unpaid(limit: int, per: str) -> BusError:
    return precondition("TOO_MANY_UNPAID_ORDERS",
                        f"At most {limit} unpaid orders {per}: pay or cancel one before checking out again.")


class CheckoutFlow(PluginBound):
    def __init__(self, plugin_ctx: Any, carts: CartStore) -> None:
        super().__init__(plugin_ctx)
        self.carts = carts
        self.fulfilment = FulfilmentStep(plugin_ctx)

    @property
    def config(self) -> OrdersConfig:
        return self.pctx.config or OrdersConfig()

    # ---------------------------------------------------------------- checkout

    async def checkout(self, user_id: str, req: Checkout, ctx: CallContext) -> Order:
        """One short transaction, hot locks last.

        Everything that locks nothing shared comes first (the user's own cart row, the
        catalog read, pricing, the order rows); then the stock of the bought variants is
        taken in one statement, and for wallet payments the wallet is debited in one
        statement, just before the commit. No external call runs in this transaction:
        card orders only create a payment intent here and are confirmed later.
        """
        how, currency = payment_choice(req, self.pctx.settings.demo)
        db = self.db
        async with db.transaction():
            # 1. The cart row locked (two checkouts of one cart queue; the second finds it empty) with its lines.
            # (Two statements: after waiting for the lock, the lines must be read in a fresh snapshot.)
            cart_id = await db.fetchval("SELECT id FROM orders_cart WHERE user_id = $1 FOR UPDATE", user_id)
            rows = [] if cart_id is None else await db.fetch(
                "SELECT product_id, variant_id, qty FROM orders_cart_item WHERE cart_id = $1 "
                "ORDER BY added_at, product_id, variant_id", cart_id)
            # 2. Price each line, then shipping and tax (checked again when stock is taken).
            lines, parts = await self._price_cart(user_id, req, rows, currency, ctx)
            total = parts.total_minor
            guest = is_guest(user_id)
            client_ip = (ctx.client_ip or "unknown")[:100] if guest else None
            if how == "intent" and total > 0:  # (a demo card is paid in this transaction: it holds nothing)
                await self._check_unpaid_cap(user_id, client_ip)
            # 3. The order and its items (invisible until commit), and the cart emptied.
            wallet_tx = str(uuid.uuid4()) if how == "wallet" and total > 0 else None
            status = status_of(how, total)
            method = "wallet" if how == "wallet" else "card"
            order_id = await self._insert_order(
                (user_id, status, total, currency, method, cart_id, wallet_tx, client_ip), parts, lines)
            payment: OrderPayment | None = None
            if status == "awaiting_payment":
                intent = await self.bus.call(Payments.create_intent, CreateIntent(
                    user_id=user_id, purpose="order", reference=order_id, amount_minor=total, currency=currency,
                    notify=Orders.payment_outcome.full_name,
                    timeout_s=self.config.guest_payment_timeout_s if guest else None), ctx)
                await db.execute("UPDATE orders_order SET payment_id = $2, payment_provider = $3 WHERE id = $1",
                                 order_id, intent.id, intent.provider)
                payment = OrderPayment(id=intent.id, provider=intent.provider, status=intent.status,
                                       client_secret=intent.client_secret)
                # Webhook order.created for the unpaid order, before the hot locks (like _placed below).
                created = await load_unpaid_until_now(db, order_id)
                await self.bus.publish(OrderCreated(order_id=order_id, user_id=user_id, total_minor=total,
                                                    currency=currency, order=created))
            placed: Order | None = None
            if status == "paid":
                # Announced now, before the hot locks (its reads and the outbox write hold none of them); a
                # later refusal (stock, price, balance) rolls the event back with everything else.
                placed = await self._placed(order_id, user_id, total, currency, method, [x.product.id for x in lines])
            # 4. Hot rows, last: the stock (variants locked in id order), then the money.
            taken = await self.bus.call(Catalog.take_stock, TakeStock(lines=tuple(
                StockLine(product_id=x.product.id, variant_id=x.variant.id, qty=x.qty) for x in lines)), ctx)
            prices = {t.variant_id: (t.price_minor, t.currency) for t in taken.items}
            if any(prices.get(x.variant.id) != (x.variant.price_minor, x.variant.currency) for x in lines):
                raise BusError(Status.ABORTED, "A price changed while you were checking out; please try again.",
                               reason="PRICE_CHANGED")
            if wallet_tx is not None:
                await self.bus.call(Wallets.debit, Debit(user_id=user_id, currency=currency, amount_minor=total,
                                                         reference=f"order:{order_id}", transaction_id=wallet_tx), ctx)
            if how == "demo_card" and payment is not None:
                # Seed compatibility, demo mode only: the provider tokenizes the raw card and the payment is
                # confirmed in this transaction, so a refused card rolls everything back as in v0.1. (This one
                # path calls the provider under the stock locks; the intent flow never does.)
                await self.bus.call(Payments.pay_now, PayNow(id=payment.id, card=req.card), ctx)
                payment = None
        order = placed or await load_order(db, order_id, user_id)
        return dataclasses.replace(order, payment=payment) if payment is not None else order

    async def _check_unpaid_cap(self, user_id: str, client_ip: str | None) -> None:
        """Stock hoarding: refuse a new unpaid order past the user's cap and, for a guest, its address's cap.

        Runs after the cart row lock, so one user's checkouts are already in line and each count sees the
        orders the ones before it committed. Guests get a fresh id per cart, so their checkouts from one
        address are put in line by a transaction-scoped advisory lock on the address (card checkouts only:
        wallet checkouts never come here, and the lock is not on any hot row).
        """
        cfg = self.config
        if client_ip is not None:
            await self.db.execute("SELECT pg_advisory_xact_lock(hashtextextended('orders-unpaid-ip:' || $1, 0))",
                                  client_ip)
        counts = await self.db.fetchrow(
            "SELECT count(*) FILTER (WHERE user_id = $1) AS by_user, "
            "count(*) FILTER (WHERE $2::text IS NOT NULL AND client_ip = $2) AS by_ip "
            "FROM orders_order WHERE status = 'awaiting_payment' AND (user_id = $1 OR client_ip = $2)",
            user_id, client_ip)
        assert counts is not None  # an aggregate always has its row
        if counts["by_user"] >= cfg.max_unpaid_orders:
            raise too_many_unpaid(cfg.max_unpaid_orders, "per customer")
        if client_ip is not None and counts["by_ip"] >= cfg.max_unpaid_orders_per_ip:
            raise too_many_unpaid(cfg.max_unpaid_orders_per_ip, "per address for guest checkouts")
    async def quote(self, user_id: str, req: QuoteCheckout, ctx: CallContext) -> CheckoutQuote:
        """Checkout's steps 1 and 2 (cart lines, prices, shipping and tax) without a lock or a write."""
        rows = await self.db.fetch(
            "SELECT i.product_id, i.variant_id, i.qty FROM orders_cart c JOIN orders_cart_item i ON i.cart_id = c.id "
            "WHERE c.user_id = $1 ORDER BY i.added_at, i.product_id, i.variant_id", user_id)
        _lines, parts = await self._price_cart(user_id, req, rows, req.currency, ctx)
        return CheckoutQuote(currency=req.currency, subtotal_minor=parts.subtotal_minor,
                             shipping_minor=parts.shipping_minor, tax_minor=parts.tax_minor,
                             total_minor=parts.total_minor, tax_rate=parts.tax_rate,
                             tax_inclusive=parts.tax_inclusive, shipping_method=parts.method)

    async def _price_cart(self, user_id: str, req: Checkout | QuoteCheckout, rows: list[Any], currency: str,
                          ctx: CallContext) -> tuple[list[PricedLine], PriceParts]:
        """The cart's lines (product_id, variant_id, qty rows) priced at the catalog's price, converted
        if needed, with shipping and tax (fulfilment.py): total = subtotal + shipping + tax. Lines whose
        product or variant left the catalog are not bought (the cart view hides them too)."""
        known = await self.carts.products(list(dict.fromkeys(r["product_id"] for r in rows)), ctx)
        wanted = [(r["product_id"], r["variant_id"], r["qty"]) for r in rows
                  if r["product_id"] in known and any(v.id == r["variant_id"] for v in known[r["product_id"]].variants)]
        if not wanted:
            raise cart_empty()
        lines = [await self._price(known[pid], vid, qty, currency, ctx) for pid, vid, qty in wanted]
        parts = await self.fulfilment.quote(user_id, req, [x.total_minor for x in lines], currency, ctx)
        if parts.total_minor > INT64_MAX:
            raise precondition("ORDER_TOO_LARGE", "The order total is too large.")
        return lines, parts

    async def _placed(self, order_id: str, user_id: str, total: int, currency: str, method: str,
                      product_ids: list[str], created_announced: bool = False) -> Order:
        """Announce a paid order through the outbox, in the transaction that made it paid."""
        order = await load_unpaid_until_now(self.db, order_id)  # the snapshot webhooks and mail carry
        await self.bus.publish(OrderPlaced(order_id=order_id, user_id=user_id, total_minor=total, currency=currency,
                                           payment_method=method, product_ids=tuple(dict.fromkeys(product_ids)),
                                           order=order, created_announced=created_announced))
        return order

    # --------------------------------------------------------- payment outcomes

    async def payment_outcome(self, req: PaymentOutcome, ctx: CallContext) -> Ack:
        """Called by payments inside its transaction: paid -> the order is paid; expired/canceled -> released."""
        oid = parse_uuid(req.reference)
        if oid is None or req.purpose != "order":
            raise order_not_found()
        if req.outcome == "paid":
            row = await self.db.fetchrow(
                "UPDATE orders_order SET status = 'paid', paid_at = now(), charge_id = $2, card_brand = $3, "
                "card_last4 = $4 WHERE id = $1 AND status = 'awaiting_payment' AND payment_id = $2 "
                "RETURNING user_id, total_minor, currency", oid, req.intent_id, req.brand, req.last4)
            if row is None:
                raise precondition("ORDER_NOT_AWAITING_PAYMENT", "This order no longer awaits payment.")
            items = await self.db.fetch("SELECT product_id FROM orders_order_item WHERE order_id = $1 "
                                        "ORDER BY position", oid)
            await self._placed(oid, row["user_id"], row["total_minor"], row["currency"].strip(), "card",
                               [r["product_id"] for r in items], created_announced=True)
            return Ack()
        reason = "PAYMENT_EXPIRED" if req.outcome == "expired" else "PAYMENT_CANCELED"
        await self._release(oid, reason, ctx)
        return Ack()

    async def _release(self, order_id: str, reason: str, ctx: CallContext) -> None:
        """An unpaid order gives its stock back and is cancelled with ``reason``, and says so through the
        outbox in the same transaction (webhook order.cancelled; nothing was paid, so no order.refunded)."""
        async with self.db.transaction():
            row = await self.db.fetchrow("SELECT status, user_id, total_minor, currency FROM orders_order "
                                         "WHERE id = $1 FOR UPDATE", order_id)
            if row is None or row["status"] != "awaiting_payment":
                return
            items = await self.db.fetch("SELECT product_id, variant_id, qty FROM orders_order_item "
                                        "WHERE order_id = $1 ORDER BY position", order_id)
            await self.bus.call(Catalog.restock, Restock(
                lines=tuple(StockLine(product_id=r["product_id"], variant_id=r["variant_id"], qty=r["qty"])
                            for r in items)), ctx)
            await self.db.execute("UPDATE orders_order SET status = 'cancelled', cancelled_at = now(), "
                                  "cancel_reason = $2 WHERE id = $1", order_id, reason)
            order = await load_order(self.db, order_id, None)
            await self.bus.publish(OrderCancelled(
                order_id=order_id, user_id=row["user_id"], total_minor=row["total_minor"],
                currency=row["currency"].strip(), product_ids=tuple(dict.fromkeys(r["product_id"] for r in items)),
                order=order))

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

    async def _insert_order(self, head: tuple[Any, ...], parts: PriceParts, lines: list[PricedLine]) -> str:
        """The order row (with its fulfilment columns) and its items written, and the cart emptied, in ONE
        statement: (user, status, total, currency, method, cart id, wallet transaction, client address)."""
        return str(await self.db.fetchval(
            "WITH emptied AS (DELETE FROM orders_cart_item WHERE cart_id = $6), "
            "o AS (INSERT INTO orders_order (user_id, status, total_minor, currency, payment_method, "
            "  wallet_transaction_id, paid_at, client_ip, subtotal_minor, shipping_minor, tax_minor, email, "
            "  shipping_address, shipping_method) VALUES ($1, $2, $3, $4, $5, $7, "
            "  CASE WHEN $2 = 'paid' THEN clock_timestamp() END, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb) "
            "  RETURNING id), "
            "i AS (INSERT INTO orders_order_item (order_id, position, product_id, slug, name, qty, "
            "  unit_price_minor, currency, line_total_minor, original_unit_price_minor, original_currency, "
            "  variant_id, sku, options) "
            "  SELECT o.id, t.pos, t.pid, t.slug, t.name, t.qty, t.unit, $4, t.line, t.orig, t.ocur, t.vid, t.sku, "
            "  t.opts FROM o, unnest($15::int[], $16::text[], $17::text[], $18::text[], $19::int[], $20::bigint[], "
            "  $21::bigint[], $22::bigint[], $23::text[], $24::text[], $25::text[], $26::jsonb[]) "
            "  AS t(pos, pid, slug, name, qty, unit, line, orig, ocur, vid, sku, opts)) "
            "SELECT id FROM o",
            *head, *self.fulfilment.values(parts),
            list(range(len(lines))), [x.product.id for x in lines], [x.product.slug for x in lines],
            [x.product.name for x in lines], [x.qty for x in lines], [x.unit_minor for x in lines],
            [x.total_minor for x in lines], [x.original_minor for x in lines], [x.original_currency for x in lines],
            [x.variant.id for x in lines], [x.variant.sku for x in lines],
            [orjson.dumps(x.variant.options).decode() for x in lines],
        ))

    # ------------------------------------------------------------------ cancel

    async def cancel(self, user_id: str, req: CancelOrder, ctx: CallContext) -> Order:
        """The shopper cancels: an unpaid order is released; a paid one gets its stock and money back.

        A wallet order does it all in one transaction (the ledger is in this database). A card
        order's refund goes through the provider, which is never called under a lock: the order
        is claimed first (status ``refunded``, so no other transition can start), the provider
        refunds with no transaction open, then the stock comes back and the event is written in
        a second short transaction. A refused refund puts the order back to ``paid``; an
        interrupted one (``refunded`` with no ``refund_id``, claimed over CANCEL_STALE_S ago) is
        finished by the next cancel call.
        """
        oid = parse_uuid(req.id)
        if oid is None:
            raise order_not_found()
        db = self.db
        async with db.transaction():
            # The row lock makes cancel exactly-once: a concurrent cancel waits, then sees "refunded".
            row = await db.fetchrow(
                f"SELECT {ORDER_COLUMNS}, refund_id, cancelled_at < now() - make_interval(secs => $3) AS stale "
                f"FROM orders_order WHERE id = $1 AND user_id = $2 FOR UPDATE", oid, user_id, CANCEL_STALE_S)
            if row is None:
                raise order_not_found()
            if row["status"] == "awaiting_payment":
                # Never paid: the stock goes back and the intent is cancelled (an open intent: no provider call).
                await self._release(oid, "CANCELLED_BY_CUSTOMER", ctx)
                if row["payment_id"]:
                    await self.bus.call(Payments.cancel_intent, CancelIntent(id=row["payment_id"]), ctx)
                return await load_order(db, oid, user_id)
            by_card = row["payment_method"] != "wallet" and row["total_minor"] > 0 and row["payment_id"] is not None
            # Claimed long ago and never finished (a crash): this call finishes it. A claim still in flight
            # (a double click) is ORDER_NOT_CANCELLABLE, so two calls never ask the provider at once.
            interrupted = by_card and row["status"] == "refunded" and row["refund_id"] is None and row["stale"]
            if not interrupted:
                check_transition(row["status"], "cancel")  # 409 ORDER_NOT_CANCELLABLE unless paid
                if not by_card:
                    return await self._cancelled(row, user_id, None, ctx)
                await db.execute("UPDATE orders_order SET status = 'refunded', cancelled_at = now() WHERE id = $1",
                                 oid)
        try:
            # No transaction open: a slow provider holds none of the shop's locks.
            intent = await self.bus.call(Payments.cancel_intent, CancelIntent(id=row["payment_id"]), ctx)
        except BusError as exc:
            if exc.reason != "REFUND_PENDING":  # pending: the money may have moved; the next cancel finishes it
                await asyncio.shield(self._uncancel(oid))
            raise
        except BaseException:
            await asyncio.shield(self._uncancel(oid))
            raise
        async with db.transaction():
            row = await db.fetchrow(f"SELECT {ORDER_COLUMNS}, refund_id FROM orders_order WHERE id = $1 FOR UPDATE",
                                    oid)
            assert row is not None  # the order is being cancelled: it exists
            if row["refund_id"] is not None:  # a concurrent call finished it
                return await load_order(db, oid, user_id)
            return await self._cancelled(row, user_id, intent.id, ctx)

    async def finish_interrupted_cancellations(self, limit: int = 100) -> int:
        """The recovery job's second half: card cancellations claimed over CANCEL_STALE_S ago and never
        finished (the process died around the provider call) are finished as the shopper's next cancel
        would, so the money and the stock go back even if nobody asks again. ``cancel`` locks the order
        and payments refunds by the reference "cancel", so two processes finishing one order refund once.
        Returns how many were found."""
        rows = await self.db.fetch(
            "SELECT id, user_id FROM orders_order WHERE status = 'refunded' AND refund_id IS NULL "
            "AND payment_method <> 'wallet' AND payment_id IS NOT NULL AND total_minor > 0 "
            "AND cancelled_at < now() - make_interval(secs => $2) ORDER BY cancelled_at LIMIT $1",
            limit, CANCEL_STALE_S)
        ctx = CallContext(depth=1)  # the shop itself, calling payments' and the catalog's internal methods
        for r in rows:
            try:
                await self.cancel(r["user_id"], CancelOrder(id=str(r["id"])), ctx)
                log.info("order_cancel_recovered", extra={"order_id": str(r["id"])})
            except Exception:
                log.warning("order_cancel_recovery_failed", extra={"order_id": str(r["id"])})
        return len(rows)

    async def _cancelled(self, row: Any, user_id: str, refund_id: str | None, ctx: CallContext) -> Order:
        """In the caller's transaction: stock back, the wallet credited (wallet orders), the event written."""
        db = self.db
        oid = str(row["id"])
        items = await db.fetch("SELECT product_id, variant_id, qty FROM orders_order_item WHERE order_id = $1 "
                               "ORDER BY position", oid)
        product_ids = list(dict.fromkeys(r["product_id"] for r in items))
        # The catalog skips variants deleted since the order; the rest get their stock back.
        await self.bus.call(Catalog.restock, Restock(
            lines=tuple(StockLine(product_id=r["product_id"], variant_id=r["variant_id"], qty=r["qty"])
                        for r in items)), ctx)
        await db.execute("UPDATE orders_order SET status = 'refunded', cancelled_at = coalesce(cancelled_at, now()) "
                         "WHERE id = $1", oid)
        # The money goes back last: it is the step other systems see.
        total, currency = row["total_minor"], row["currency"].strip()
        if total > 0 and row["payment_method"] == "wallet":
            receipt = await self.bus.call(Wallets.credit, Credit(
                # The wallet refunds against the payment's own reference, never more than was paid.
                user_id=user_id, currency=currency, amount_minor=total, reference=f"order:{oid}"), ctx)
            refund_id = receipt.transaction_id
        await db.execute("UPDATE orders_order SET refund_id = $2 WHERE id = $1", oid, refund_id)
        order = await load_order(db, oid, user_id)
        await self.bus.publish(OrderCancelled(order_id=oid, user_id=user_id, total_minor=total,
                                              currency=currency, product_ids=tuple(product_ids), order=order))
        return order

    async def _uncancel(self, order_id: str) -> None:
        """The provider refused (or could not be reached): the claimed card order is paid again, as it was."""
        await self.db.execute("UPDATE orders_order SET status = 'paid', cancelled_at = NULL WHERE id = $1 "
                              "AND status = 'refunded' AND refund_id IS NULL", order_id)
        log.warning("order_cancel_refund_failed", extra={"order_id": order_id})
