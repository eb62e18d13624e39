"""Reading orders: rows to messages, pages, and id parsing shared by the servicer."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from kernel.core.status import BusError, Status
from kernel.storage.db import Database
from plugins.shipping.contract import Address, ShippingMethod

from .contract import Fulfillment, Order, OrderItem, OrderPage, OrderPayment, Refund

ORDER_COLUMNS = ("id, user_id, status, total_minor, currency, payment_method, card_brand, card_last4, "
                 "created_at, cancelled_at, payment_id, payment_provider, cancel_reason")
# What an order's status says about its payment intent (GET /api/payments/{id} has the intent's own).
_PAYMENT_STATUS = {"awaiting_payment": "requires_payment_method", "paid": "succeeded", "cancelled": "canceled",
                   "refunded": "refunded", "pending": "requires_payment_method",
                   # after payment (fulfilment): the intent succeeded; refunds are the order's own list
                   "fulfilled": "succeeded", "partially_refunded": "succeeded"}


def parse_uuid(value: str) -> str | None:
    """The canonical text of a UUID, or None when ``value`` is not one (so lookups never 500)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# The fulfilment columns (m0004_fulfilment), read next to ORDER_COLUMNS by orders_from_rows.
FULFIL_COLUMNS = ("subtotal_minor, shipping_minor, tax_minor, refunded_minor, email, shipping_address, "
                  "shipping_method, updated_at, paid_at")


def order_not_found() -> BusError:
    return BusError(Status.NOT_FOUND, "order not found", reason="ORDER_NOT_FOUND")


def _item(r: Any) -> OrderItem:
    return OrderItem(
        product_id=r["product_id"], slug=r["slug"], name=r["name"], qty=r["qty"],
        unit_price_minor=r["unit_price_minor"], currency=r["currency"], line_total_minor=r["line_total_minor"],
        original_unit_price_minor=r["original_unit_price_minor"], original_currency=r["original_currency"],
        variant_id=r["variant_id"], sku=r["sku"], options=orjson.loads(r["options"]) if isinstance(
            r["options"], (str, bytes)) else dict(r["options"]),
    )


async def _base_orders(db: Database, rows: Sequence[Any]) -> list[Order]:
    """Messages for order rows, with their items fetched in one query."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    items: dict[Any, list[OrderItem]] = {i: [] for i in ids}
    for r in await db.fetch(
        "SELECT order_id, product_id, slug, name, qty, unit_price_minor, currency, line_total_minor, "
        "original_unit_price_minor, original_currency, variant_id, sku, options FROM orders_order_item "
        "WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, position", ids,
    ):
        items[r["order_id"]].append(_item(r))
    return [
        Order(
            id=str(r["id"]), status=r["status"], total_minor=r["total_minor"], currency=r["currency"],
            payment_method=r["payment_method"], items=tuple(items[r["id"]]), created_at=iso(r["created_at"]) or "",
            user_id=r["user_id"], card_brand=r["card_brand"], card_last4=r["card_last4"],
            cancelled_at=iso(r["cancelled_at"]), cancel_reason=r["cancel_reason"],
            payment=None if r["payment_id"] is None else OrderPayment(
                id=r["payment_id"], provider=r["payment_provider"], status=_PAYMENT_STATUS[r["status"]]),
        )
        for r in rows
    ]


async def orders_from_rows(db: Database, rows: Sequence[Any], *, unpaid_until_now: bool = False
                           ) -> list[Order]:
    """Messages for order rows: items, then the fulfilment fields, fulfillments and refunds (one query each).

    Rows that already carry FULFIL_COLUMNS save a query. ``unpaid_until_now``: the orders were unpaid until
    this transaction (just created, or just paid), so they have no fulfillments and no refunds yet and those
    two queries are skipped (the checkout's hot path reads its order inside the transaction).
    """
    orders = await _base_orders(db, rows)
    if not orders:
        return orders
    ids = [r["id"] for r in rows]
    if "paid_at" in rows[0].keys():
        extra = {r["id"]: r for r in rows}
    else:
        extra = {r["id"]: r for r in await db.fetch(f"SELECT id, {FULFIL_COLUMNS} FROM orders_order "
                                                     "WHERE id = ANY($1::uuid[])", ids)}
    fulfillments: dict[Any, list[Fulfillment]] = {i: [] for i in ids}
    refunds: dict[Any, list[Refund]] = {i: [] for i in ids}
    if not unpaid_until_now:
        await _fulfillments_and_refunds(db, ids, fulfillments, refunds)
    out = []
    for row, order in zip(rows, orders, strict=True):
        x = extra[row["id"]]
        out.append(dataclasses.replace(
            order, subtotal_minor=x["subtotal_minor"], shipping_minor=x["shipping_minor"], tax_minor=x["tax_minor"],
            refunded_minor=x["refunded_minor"], email=x["email"], updated_at=iso(x["updated_at"]),
            paid_at=iso(x["paid_at"]),
            shipping_address=None if x["shipping_address"] is None else Address(**_json(x["shipping_address"])),
            shipping_method=None if x["shipping_method"] is None else ShippingMethod(**_json(x["shipping_method"])),
            fulfillments=tuple(fulfillments[row["id"]]), refunds=tuple(refunds[row["id"]])))
    return out


async def _fulfillments_and_refunds(db: Database, ids: list[Any], fulfillments: dict[Any, list[Fulfillment]],
                                    refunds: dict[Any, list[Refund]]) -> None:
    for r in await db.fetch("SELECT id, order_id, carrier, tracking_number, created_at FROM orders_fulfillment "
                            "WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, created_at, id", ids):
        fulfillments[r["order_id"]].append(Fulfillment(id=str(r["id"]), carrier=r["carrier"],
                                                       tracking_number=r["tracking_number"],
                                                       created_at=iso(r["created_at"]) or ""))
    for r in await db.fetch("SELECT id, order_id, amount_minor, currency, reason, created_at FROM orders_refund "
                            "WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, created_at, id", ids):
        refunds[r["order_id"]].append(Refund(id=str(r["id"]), amount_minor=r["amount_minor"],
                                             currency=r["currency"].strip(), reason=r["reason"],
                                             created_at=iso(r["created_at"]) or ""))


def _json(value: Any) -> dict[str, Any]:
    return dict(orjson.loads(value)) if isinstance(value, (str, bytes)) else dict(value)


async def load_order(db: Database, order_id: str, user_id: str | None) -> Order:
    """One order; ``user_id`` None means any user's (admin). Unknown or foreign ids are NOT_FOUND."""
    oid = parse_uuid(order_id)
    if oid is None:
        raise order_not_found()
    if user_id is None:
        row = await db.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders_order WHERE id = $1", oid)
    else:
        row = await db.fetchrow(f"SELECT {ORDER_COLUMNS} FROM orders_order WHERE id = $1 AND user_id = $2",
                                oid, user_id)
    if row is None:
        raise order_not_found()
    return (await orders_from_rows(db, [row]))[0]


async def load_unpaid_until_now(db: Database, order_id: str) -> Order:
    """An order created or paid in the caller's transaction, in two queries (the row with its fulfilment
    columns, then the items) instead of five: it can have no fulfillments or refunds yet."""
    row = await db.fetchrow(f"SELECT {ORDER_COLUMNS}, {FULFIL_COLUMNS} FROM orders_order WHERE id = $1", order_id)
    if row is None:
        raise order_not_found()
    return (await orders_from_rows(db, [row], unpaid_until_now=True))[0]


async def order_page(db: Database, *, page: int, page_size: int, user_id: str | None = None,
                     status: str | None = None) -> OrderPage:
    """Newest first (created_at desc, id desc), optionally for one user and/or one status."""
    where, args = [], []
    if user_id is not None:
        args.append(user_id)
        where.append(f"user_id = ${len(args)}")
    if status is not None:
        args.append(status)
        where.append(f"status = ${len(args)}")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    total = await db.fetchval(f"SELECT count(*) FROM orders_order {clause}", *args)
    rows = await db.fetch(
        f"SELECT {ORDER_COLUMNS} FROM orders_order {clause} ORDER BY created_at DESC, id DESC "
        f"LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args, page_size, (page - 1) * page_size,
    )
    items = await orders_from_rows(db, rows)
    return OrderPage(items=tuple(items), page=page, page_size=page_size, total=int(total))
