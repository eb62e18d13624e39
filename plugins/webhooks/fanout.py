"""Domain events -> webhook messages: one delivery per subscribed endpoint, in the outbox's transaction.

The handler is an atomic outbox subscriber: the delivery rows and the "processed"
mark commit together, and (endpoint, event, type) is unique, so a redelivered
outbox task never queues a webhook twice. The body is fixed here, once: retries
and redeliveries send the same bytes (the signature's timestamp is per attempt).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import orjson

from kernel.core.context import CallContext
from kernel.core.events import Event, Subscription, current_delivery
from kernel.core.messages import encode
from kernel.core.status import BusError, Status
from plugins.catalog.contract import Catalog, GetProductsByIds, ProductChanged
from plugins.orders.contract import OrderCancelled, OrderCreated, OrderFulfilled, OrderPlaced, OrderRefunded

log = logging.getLogger("shop.plugins.webhooks")

Message = tuple[str, Any]  # (webhook event type, data)


def _order_data(e: Any) -> Any:
    if e.order is not None:
        return encode(e.order)
    return {"id": e.order_id, "userId": e.user_id, "totalMinor": e.total_minor, "currency": e.currency}


def order_created(e: OrderCreated, cfg: Any) -> list[Message]:
    """An unpaid (card) order; its order.paid follows from OrderPlaced when the payment succeeds."""
    return [("order.created", _order_data(e))]


def order_placed(e: OrderPlaced, cfg: Any) -> list[Message]:
    data = _order_data(e)
    out: list[Message] = [] if e.created_announced else [("order.created", data)]
    if e.order is None or e.order.status == "paid":
        out.append(("order.paid", data))
    return out


def order_cancelled(e: OrderCancelled, cfg: Any) -> list[Message]:
    data = _order_data(e)
    out = [("order.cancelled", data)]
    if e.order is None or e.order.status == "refunded":
        out.append(("order.refunded", data))
    return out


def order_fulfilled(e: OrderFulfilled, cfg: Any) -> list[Message]:
    return [("order.fulfilled", _order_data(e))]


def order_refunded(e: OrderRefunded, cfg: Any) -> list[Message]:
    """An admin refund, partial or full (a shopper's cancellation says order.refunded through OrderCancelled)."""
    return [("order.refunded", _order_data(e))]


_PRODUCT_TYPES = {"created": "product.created", "updated": "product.updated", "deleted": "product.deleted"}


def product_changed(e: ProductChanged, cfg: Any) -> list[Message]:
    data = encode(e.product) if e.product is not None else {
        "id": e.product_id, "slug": e.slug, "categorySlug": e.category_slug}
    out: list[Message] = []
    kind = _PRODUCT_TYPES.get(e.change)
    if kind is not None:
        out.append((kind, data))
    if e.product is not None and crosses_low(e, cfg):
        out.append(("stock.low", {**data, "threshold": cfg.stock_low_threshold}))
    return out


def crosses_low(e: ProductChanged, cfg: Any) -> bool:
    """stock.low once, when the stock crosses below the threshold (not on every sale below it)."""
    now = e.product.stock_qty if e.product is not None else e.stock_qty
    return (e.previous_stock_qty is not None and now is not None and e.change != "deleted"
            and e.previous_stock_qty >= cfg.stock_low_threshold > now)


async def with_product(bus: Any, e: ProductChanged) -> ProductChanged:
    """A checkout's stock event carries no product (none is loaded under its locks): for stock.low,
    read it now, outside the checkout, showing the stock the event reports."""
    try:
        found = await bus.call(Catalog.get_products_by_ids, GetProductsByIds(ids=(e.product_id,)),
                               CallContext().nested())
    except BusError as exc:
        if exc.status is Status.NOT_FOUND:
            return e
        raise
    if not found.items:
        return e  # deleted since: no stock.low for a product that is gone
    return dataclasses.replace(e, product=dataclasses.replace(found.items[0], stock_qty=e.stock_qty))


def sources() -> list[tuple[type[Event], Callable[[Any, Any], list[Message]]]]:
    """Which domain events feed webhooks."""
    return [(OrderCreated, order_created), (OrderPlaced, order_placed), (OrderCancelled, order_cancelled),
            (OrderFulfilled, order_fulfilled),
            (OrderRefunded, order_refunded), (ProductChanged, product_changed)]


_QUEUE = """
INSERT INTO webhooks_delivery (endpoint_id, event_id, event_type, body)
SELECT id, $1, $2, $3 FROM webhooks_endpoint
WHERE active AND deleted_at IS NULL AND $2 = ANY(events)
ON CONFLICT (endpoint_id, event_id, event_type) DO NOTHING
"""


def subscriptions(ctx: Any, cfg: Any, wake: Callable[[], None]) -> list[Subscription]:
    db = ctx.db

    def handler_for(mapper: Callable[[Any, Any], list[Message]]) -> Callable[[Any], Any]:
        async def fanout(event: Any) -> None:
            d = current_delivery()
            assert d is not None, "webhooks fan-out runs from the outbox"
            if isinstance(event, ProductChanged) and event.product is None and crosses_low(event, cfg):
                event = await with_product(ctx.bus, event)
            queued = 0
            for kind, data in mapper(event, cfg):
                body = orjson.dumps({"type": kind, "timestamp": d.occurred_at, "data": data})
                status = await db.execute(_QUEUE, d.event_id, kind, body)
                queued += int(status.split()[-1])
            if queued:
                db.after_commit(_async(wake))

        return fanout

    return [Subscription(event_type, handler_for(mapper), name=f"webhooks:{event_type.topic}", atomic=True)
            for event_type, mapper in sources()]


def _async(fn: Callable[[], None]) -> Callable[[], Any]:
    async def run() -> None:
        fn()

    return run
