"""Domain events -> webhook messages: one delivery per subscribed endpoint, in the outbox's transaction.

The handler is an atomic outbox subscriber: the delivery rows and the "processed"
mark commit together, and (endpoint, event, type) is unique, so a redelivered
outbox task never queues a webhook twice. The body is fixed here, once: retries
and redeliveries send the same bytes (the signature's timestamp is per attempt).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

import plugins.orders.contract as orders_contract
from kernel.events import Event, Subscription, current_delivery
from kernel.messages import encode
from plugins.catalog.contract import ProductChanged
from plugins.orders.contract import OrderCancelled, OrderPlaced

log = logging.getLogger("shop.plugins.webhooks")

Message = tuple[str, Any]  # (webhook event type, data)


def _order_data(e: Any) -> Any:
    if e.order is not None:
        return encode(e.order)
    return {"id": e.order_id, "userId": e.user_id, "totalMinor": e.total_minor, "currency": e.currency}


def order_placed(e: OrderPlaced, cfg: Any) -> list[Message]:
    data = _order_data(e)
    out = [("order.created", data)]
    if e.order is None or e.order.status == "paid":
        out.append(("order.paid", data))
    return out


def order_cancelled(e: OrderCancelled, cfg: Any) -> list[Message]:
    data = _order_data(e)
    out = [("order.cancelled", data)]
    if e.order is None or e.order.status == "refunded":
        out.append(("order.refunded", data))
    return out


def order_fulfilled(e: Any, cfg: Any) -> list[Message]:
    return [("order.fulfilled", _order_data(e))]


_PRODUCT_TYPES = {"created": "product.created", "updated": "product.updated", "deleted": "product.deleted"}


def product_changed(e: ProductChanged, cfg: Any) -> list[Message]:
    data = encode(e.product) if e.product is not None else {
        "id": e.product_id, "slug": e.slug, "categorySlug": e.category_slug}
    out: list[Message] = []
    kind = _PRODUCT_TYPES.get(e.change)
    if kind is not None:
        out.append((kind, data))
    # stock.low once, when the stock crosses below the threshold (not on every sale below it).
    threshold = cfg.stock_low_threshold
    if (e.product is not None and e.previous_stock_qty is not None and e.change != "deleted"
            and e.previous_stock_qty >= threshold > e.product.stock_qty):
        out.append(("stock.low", {**data, "threshold": threshold}))
    return out


def sources() -> list[tuple[type[Event], Callable[[Any, Any], list[Message]]]]:
    """Which domain events feed webhooks. Events the orders plugin does not publish yet
    (OrderFulfilled) are picked up as soon as its contract declares them."""
    out: list[tuple[type[Event], Callable[[Any, Any], list[Message]]]] = [
        (OrderPlaced, order_placed), (OrderCancelled, order_cancelled), (ProductChanged, product_changed)]
    fulfilled = getattr(orders_contract, "OrderFulfilled", None)
    if fulfilled is not None:
        out.append((fulfilled, order_fulfilled))
    return out


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
