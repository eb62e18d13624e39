"""Admin operations over every order: list for sync, detail, fulfil, refund, customers.

Every transition locks the order row, checks the transition against the table in
``lifecycle.py`` and does its money effects in the same transaction; a refused
transition is 409 with a reason.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from kernel.host.plugin import PluginBound
from plugins.auth.contract import GetUser, Users
from plugins.payments.contract import CaptureIntent, Payments, RefundPayment
from plugins.wallet.contract import Credit, Wallets

from .contract import (
    CreateFulfillment,
    CreateRefund,
    Customer,
    CustomerPage,
    CustomerTotal,
    GetOrder,
    ListAllOrders,
    ListCustomers,
    Order,
    OrderFulfilled,
    OrderPage,
    OrderRefunded,
)
from .lifecycle import check_transition, status_after_refund
from .store import ORDER_COLUMNS, iso, load_order, order_not_found, orders_from_rows, parse_uuid

log = logging.getLogger("shop.plugins.orders")
# How long a card refund belongs to the request (or recovery run) that reserved it before the job retries it.
REFUND_LEASE_S = 120


def _since(value: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        ts = None
    if ts is None or ts.tzinfo is None:
        raise BusError(Status.INVALID_ARGUMENT, "updatedSince must be an RFC 3339 timestamp with a time zone.",
                       field_errors=[("updatedSince", "not an RFC 3339 timestamp with a time zone")])
    return ts


class AdminOps(PluginBound):

    async def list_orders(self, req: ListAllOrders) -> OrderPage:
        where, args = [], []

        def add(cond: str, value: Any) -> None:
            args.append(value)
            where.append(cond.replace("?", f"${len(args)}"))

        if req.status is not None:
            add("status = ?", req.status)
        if req.email is not None:
            add("lower(email) = lower(?)", req.email)
        if req.updated_since is not None:
            add("updated_at >= ?", _since(req.updated_since))
        if req.user_id is not None:
            add("user_id = ?", req.user_id)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        total = await self.db.fetchval(f"SELECT count(*) FROM orders_order {clause}", *args)
        rows = await self.db.fetch(
            f"SELECT {ORDER_COLUMNS} FROM orders_order {clause} ORDER BY updated_at DESC, id DESC "
            f"LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}", *args, req.page_size, (req.page - 1) * req.page_size)
        return OrderPage(items=tuple(await orders_from_rows(self.db, rows)), page=req.page, page_size=req.page_size,
                         total=int(total))

    async def get_order(self, req: GetOrder, ctx: CallContext) -> Order:
        order = await load_order(self.db, req.id, None)
        if order.email is None and not order.user_id.startswith("guest:") and self.bus.has(Users.get_user):
            # Orders placed before emails were recorded: ask auth (when it is enabled).
            try:
                user = await self.bus.call(Users.get_user, GetUser(user_id=order.user_id), ctx)
                order = dataclasses.replace(order, email=user.email)
            except BusError as exc:
                if exc.status != Status.NOT_FOUND:
                    raise
        return order

    async def _lock(self, order_id: str) -> Any:
        oid = parse_uuid(order_id)
        row = None if oid is None else await self.db.fetchrow(
            "SELECT id, user_id, status, total_minor, refunded_minor, currency, payment_method, payment_id "
            "FROM orders_order WHERE id = $1 FOR UPDATE", oid)
        if row is None:
            raise order_not_found()
        return row

    async def fulfil(self, req: CreateFulfillment, ctx: CallContext) -> Order:
        """A parcel left. The first one of a card order captures its payment first (``capture =
        "manual"`` authorizes at confirmation and captures here; an automatic capture answers at
        once), with no transaction open; a refused capture records no parcel."""
        oid = parse_uuid(req.id)
        before = None if oid is None else await self.db.fetchrow(
            "SELECT status, payment_method, payment_id FROM orders_order WHERE id = $1", oid)
        if before is not None and before["status"] == "paid" and before["payment_id"] is not None:
            await self.bus.call(Payments.capture, CaptureIntent(id=before["payment_id"]), ctx)
        async with self.db.transaction():
            row = await self._lock(req.id)
            new_status = check_transition(row["status"], "fulfil")
            fid = await self.db.fetchval("INSERT INTO orders_fulfillment (order_id, carrier, tracking_number) "
                                         "VALUES ($1, $2, $3) RETURNING id", row["id"], req.carrier,
                                         req.tracking_number)
            await self.db.execute("UPDATE orders_order SET status = $2 WHERE id = $1", row["id"], new_status)
            order = await load_order(self.db, str(row["id"]), None)
            # In the same transaction (the outbox): webhook order.fulfilled and the shipping notice.
            await self.bus.publish(OrderFulfilled(order_id=order.id, user_id=order.user_id, fulfillment_id=str(fid),
                                                  carrier=req.carrier, tracking_number=req.tracking_number,
                                                  order=order))
            return order

    async def refund(self, req: CreateRefund, ctx: CallContext) -> Order:
        """To the original payment method. Wallet: one transaction (the ledger is in this database).
        Card: the amount is reserved on the order, with the refund row, in one short transaction; the
        provider is called with no transaction open (payments' rule: no external call under locks); a
        refused refund gives the reservation back, an unconfirmed one is finished by the recovery job."""
        async with self.db.transaction():
            # The row lock serializes refunds of one order: the sum can never pass what was paid.
            row = await self._lock(req.id)
            check_transition(row["status"], "refund")
            left = row["total_minor"] - row["refunded_minor"]
            if req.amount_minor > left:
                raise BusError(Status.FAILED_PRECONDITION,
                               f"At most {left} can still be refunded on this order.", reason="REFUND_EXCEEDS_PAID",
                               field_errors=[("amountMinor", f"at most {left}")])
            oid, currency = str(row["id"]), row["currency"].strip()
            by_card = row["payment_method"] != "wallet"
            if by_card and row["payment_id"] is None:
                raise BusError(Status.FAILED_PRECONDITION, "This card order has no payment to refund.",
                               reason="NOTHING_TO_REFUND")
            # The refund row is the refund intent: written with the reservation, so a crash before the
            # provider answers leaves a row the recovery job finishes (retry_at: after this request's lease).
            refund_id = str(await self.db.fetchval(
                "INSERT INTO orders_refund (order_id, amount_minor, currency, reason, retry_at) "
                "VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() + make_interval(secs => $6) END) RETURNING id",
                oid, req.amount_minor, currency, req.reason, by_card, float(REFUND_LEASE_S)))
            refunded = row["refunded_minor"] + req.amount_minor
            await self.db.execute("UPDATE orders_order SET refunded_minor = $2, status = $3 WHERE id = $1",
                                  oid, refunded, status_after_refund(row["total_minor"], refunded))
            if not by_card:
                # The money last, in the same transaction: the step other systems see.
                receipt = await self.bus.call(Wallets.credit, Credit(
                    user_id=row["user_id"], currency=currency, amount_minor=req.amount_minor,
                    reference=f"order:{oid}"), ctx)
                return await self._refunded(refund_id, str(receipt.transaction_id), oid, req.amount_minor)
        # Card: through the payments plugin, outside any transaction.
        return await self._card_refund(oid, refund_id, row["payment_id"], req.amount_minor, ctx)

    async def _card_refund(self, oid: str, refund_id: str, payment_id: str, amount: int, ctx: CallContext) -> Order:
        """Payments refunds by the reference ``order-refund:<refund id>``: asked again (a retry, the recovery
        job), it answers with the same refund. Only a refusal gives the reservation back; any other failure
        (provider down, a crash) leaves the refund pending for the recovery job."""
        try:
            done = await self.bus.call(Payments.refund, RefundPayment(
                id=payment_id, amount_minor=amount, reference=f"order-refund:{refund_id}"), ctx)
        except BusError as exc:
            if exc.status in (Status.FAILED_PRECONDITION, Status.NOT_FOUND):
                await self._undo(oid, refund_id, amount)
                raise
            log.warning("order_refund_pending", extra={"order_id": oid, "refund_id": refund_id})
            raise BusError(Status.UNAVAILABLE, "The refund is recorded but the payment provider has not confirmed "
                           "it yet; it will be completed.", reason="REFUND_PENDING") from exc
        async with self.db.transaction():
            return await self._refunded(refund_id, done.id, oid, amount)

    async def finish_pending_refunds(self, limit: int = 100) -> int:
        """The recovery job: card refunds reserved but never confirmed, past their ``retry_at``. Safe with
        many processes: each claims a disjoint batch (SKIP LOCKED) for REFUND_LEASE_S, and a refund done
        twice by a race is one refund (payments and the provider answer the same reference the same way;
        ``_refunded`` records and announces it once). Returns how many were claimed."""
        ctx = CallContext(depth=1)  # the shop itself, calling payments' internal methods
        rows = await self.db.claim_due(
            "SELECT r.id, r.order_id, r.amount_minor, o.payment_id FROM orders_refund r "
            "JOIN orders_order o ON o.id = r.order_id WHERE r.payment_refund_id IS NULL AND r.retry_at < now() "
            "ORDER BY r.retry_at LIMIT $1 FOR UPDATE OF r SKIP LOCKED", limit, "orders_refund", REFUND_LEASE_S)
        for r in rows:
            try:
                await self._card_refund(str(r["order_id"]), str(r["id"]), r["payment_id"], r["amount_minor"], ctx)
                log.info("order_refund_recovered", extra={"order_id": str(r["order_id"]), "refund_id": str(r["id"])})
            except Exception:
                log.warning("order_refund_recovery_failed", extra={"order_id": str(r["order_id"]),
                                                                   "refund_id": str(r["id"])})
        return len(rows)

    async def _refunded(self, refund_id: str, payment_ref: str, oid: str, amount: int) -> Order:
        """The money went back: record it and announce it (webhook order.refunded), in the caller's
        transaction; once, however many callers (request, recovery job) saw the refund succeed."""
        first = await self.db.fetchval("UPDATE orders_refund SET payment_refund_id = $2, retry_at = NULL "
                                       "WHERE id = $1 AND payment_refund_id IS NULL RETURNING id",
                                       refund_id, payment_ref)
        order = await load_order(self.db, oid, None)
        if first is None:
            return order
        await self.bus.publish(OrderRefunded(order_id=oid, user_id=order.user_id, refund_id=refund_id,
                                             amount_minor=amount, currency=order.currency, order=order))
        log.info("order_refunded", extra={"order_id": oid, "refund_id": refund_id, "amount": amount})
        return order

    async def _undo(self, oid: str, refund_id: str, amount: int) -> None:
        """The provider refused: the reserved amount goes back, with the status it had (once)."""
        async with self.db.transaction():
            row = await self.db.fetchrow("SELECT total_minor, refunded_minor FROM orders_order WHERE id = $1 "
                                         "FOR UPDATE", oid)
            assert row is not None  # the order is being refunded: it exists
            gone = await self.db.fetchval("DELETE FROM orders_refund WHERE id = $1 AND payment_refund_id IS NULL "
                                          "RETURNING id", refund_id)
            if gone is None:
                return
            refunded = row["refunded_minor"] - amount
            if refunded > 0:
                status = status_after_refund(row["total_minor"], refunded)
            else:  # back to what it was; a parcel may have shipped meanwhile
                shipped = await self.db.fetchval("SELECT exists(SELECT 1 FROM orders_fulfillment WHERE order_id = $1)",
                                                 oid)
                status = "fulfilled" if shipped else "paid"
            await self.db.execute("UPDATE orders_order SET refunded_minor = $2, status = $3 WHERE id = $1",
                                  oid, refunded, status)
        log.warning("order_refund_failed", extra={"order_id": oid, "refund_id": refund_id})

    async def customers(self, req: ListCustomers) -> CustomerPage:
        # Customers are users (and guests) with at least one order that was paid.
        total = await self.db.fetchval(
            "SELECT count(DISTINCT user_id) FROM orders_order WHERE paid_at IS NOT NULL")
        rows = await self.db.fetch(
            "SELECT user_id, max(email) AS email, count(*) AS orders, max(created_at) AS last_order_at "
            "FROM orders_order WHERE paid_at IS NOT NULL GROUP BY user_id "
            "ORDER BY max(created_at) DESC, user_id LIMIT $1 OFFSET $2", req.page_size, (req.page - 1) * req.page_size)
        users = [r["user_id"] for r in rows]
        totals: dict[str, list[CustomerTotal]] = {u: [] for u in users}
        for r in await self.db.fetch(
            # Net of refunds; a cancelled (refunded) order counts nothing.
            "SELECT user_id, currency, sum(CASE WHEN status = 'refunded' THEN 0 "
            "ELSE total_minor - refunded_minor END) AS amount FROM orders_order "
            "WHERE paid_at IS NOT NULL AND user_id = ANY($1::text[]) GROUP BY user_id, currency "
            "ORDER BY user_id, currency", users,
        ):
            totals[r["user_id"]].append(CustomerTotal(currency=r["currency"].strip(), amount_minor=int(r["amount"])))
        return CustomerPage(items=tuple(
            Customer(user_id=r["user_id"], email=r["email"], order_count=int(r["orders"]),
                     totals=tuple(totals[r["user_id"]]), last_order_at=iso(r["last_order_at"]) or "")
            for r in rows), page=req.page, page_size=req.page_size, total=int(total))
