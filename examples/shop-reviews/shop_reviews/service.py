"""The Reviews servicer: business rules on the plugin's own tables; the catalog only through its contract."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from kernel.host.plugin import PluginContext
from plugins.catalog.contract import Catalog, GetProduct, GetProductsByIds, Product
from plugins.orders.contract import HasPurchased, OrderCancelled, OrderRefunded, Orders

from .contract import (
    AddReview,
    GetRatingSummary,
    ListReviews,
    RatingSummary,
    Review,
    ReviewPage,
    product_tag,
    slug_tag,
)

log = logging.getLogger("shop.plugins.reviews")


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _review(row: Any) -> Review:
    return Review(id=str(row["id"]), product_id=row["product_id"], rating=row["rating"], body=row["body"],
                  created_at=_iso(row["created_at"]))


def _not_a_buyer() -> BusError:
    return BusError(Status.PERMISSION_DENIED, "Only customers holding a paid order of this product may review it.",
                    reason="NOT_A_BUYER")


def _one_product(product_slug: str | None, product_id: str | None) -> None:
    if (product_slug is None) == (product_id is None):
        msg = "give exactly one of productSlug and productId"
        raise BusError(Status.INVALID_ARGUMENT, msg, field_errors=[("productSlug", msg), ("productId", msg)])


class ReviewsServicer:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def _product(self, slug: str, ctx: CallContext) -> Product:
        # An unknown slug is the catalog's NOT_FOUND (404), passed on unchanged.
        return await self.ctx.bus.call(Catalog.get_product, GetProduct(slug=slug), ctx)

    async def _product_id(self, slug: str | None, product_id: str | None, ctx: CallContext) -> str:
        _one_product(slug, product_id)
        if product_id is not None:
            return product_id
        assert slug is not None
        return (await self._product(slug, ctx)).id

    async def _holds_paid_order(self, user_id: str, product_id: str, ctx: CallContext) -> bool:
        reply = await self.ctx.bus.call(Orders.has_purchased, HasPurchased(user_id=user_id, product_id=product_id),
                                        ctx)
        return bool(reply.purchased)

    async def list_reviews(self, req: ListReviews, ctx: CallContext) -> ReviewPage:
        pid = await self._product_id(req.product_slug, req.product_id, ctx)
        db = self.ctx.db
        rows = await db.fetch(
            "SELECT id, product_id, rating, body, created_at, count(*) OVER () AS total FROM product_reviews "
            "WHERE product_id = $1 AND hidden_at IS NULL ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
            pid, req.page_size, (req.page - 1) * req.page_size)
        total = rows[0]["total"] if rows else await db.fetchval(
            "SELECT count(*) FROM product_reviews WHERE product_id = $1 AND hidden_at IS NULL", pid)
        return ReviewPage(items=tuple(_review(r) for r in rows), page=req.page, page_size=req.page_size,
                          total=total)

    async def rating_summary(self, req: GetRatingSummary, ctx: CallContext) -> RatingSummary:
        pid = await self._product_id(req.product_slug, req.product_id, ctx)
        row = await self.ctx.db.fetchrow(
            "SELECT count(*) AS n, round(avg(rating) * 100)::int AS avg FROM product_reviews WHERE product_id = $1 "
            "AND hidden_at IS NULL",
            pid)
        assert row is not None
        return RatingSummary(product_id=pid, count=row["n"], average_hundredths=row["avg"])

    async def add_review(self, req: AddReview, ctx: CallContext) -> Review:
        user_id = ctx.principal.user_id
        assert user_id is not None  # user=True: the bus refuses other callers
        product = await self._product(req.product_slug, ctx)
        db = self.ctx.db
        if not await self._holds_paid_order(user_id, product.id, ctx):
            raise _not_a_buyer()
        row = await db.fetchrow(
            "INSERT INTO product_reviews (product_id, user_id, rating, body) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (product_id, user_id) DO NOTHING RETURNING id, product_id, rating, body, created_at",
            product.id, user_id, req.rating, req.body)
        if row is None:
            raise BusError(Status.ALREADY_EXISTS, "You have already reviewed this product.",
                           reason="ALREADY_REVIEWED")
        # Asked again after the insert: a cancellation that committed meanwhile saw no review to hide
        # (its handler ran before our insert), so this side must see the cancellation.
        if not await self._holds_paid_order(user_id, product.id, ctx):
            await db.execute("DELETE FROM product_reviews WHERE id = $1", row["id"])
            raise _not_a_buyer()
        await self.ctx.runtime.cache.invalidate([product_tag(product.id), slug_tag(product.slug)])
        log.info("review_added", extra={"product_id": product.id, "rating": req.rating})
        return _review(row)

    # ---- event handler (the orders plugin publishes it after its transaction commits)

    async def on_order_cancelled(self, event: OrderCancelled) -> None:
        await self._hide_unless_still_bought(event.user_id, list(event.product_ids), event.order_id)

    async def on_order_refunded(self, event: OrderRefunded) -> None:
        """An admin refund of everything that was paid takes the goods back like a cancellation;
        a partial refund leaves the order (and the review) standing."""
        if event.order is None or event.order.status != "refunded":
            return
        product_ids = list(dict.fromkeys(i.product_id for i in event.order.items))
        await self._hide_unless_still_bought(event.user_id, product_ids, event.order_id)

    async def _hide_unless_still_bought(self, user_id: str, product_ids: list[str], order_id: str) -> None:
        """Hide the buyer's reviews of the order's products unless another paid order still covers them."""
        db = self.ctx.db
        rows = await db.fetch("SELECT id, product_id FROM product_reviews WHERE user_id = $1 "
                              "AND product_id = ANY($2::text[]) AND hidden_at IS NULL",
                              user_id, product_ids)
        ctx = CallContext().nested()  # an internal call on the shop's own behalf
        tags: list[str] = []
        for r in rows:
            if await self._holds_paid_order(user_id, r["product_id"], ctx):
                continue
            await db.execute("UPDATE product_reviews SET hidden_at = now() WHERE id = $1 AND hidden_at IS NULL",
                             r["id"])
            tags.append(product_tag(r["product_id"]))
            log.info("review_hidden", extra={"product_id": r["product_id"], "order_id": order_id})
        if tags:
            slugs = await self._slugs([r["product_id"] for r in rows], ctx)
            await self.ctx.runtime.cache.invalidate(tags + [slug_tag(s) for s in slugs])

    async def _slugs(self, product_ids: list[str], ctx: CallContext) -> list[str]:
        """Cached reads are tagged by slug too (REST names products by slug)."""
        found = await self.ctx.bus.call(Catalog.get_products_by_ids, GetProductsByIds(ids=tuple(product_ids)), ctx)
        return [p.slug for p in found.items]
