"""The base of the Catalog servicer: the handles its parts share, the product as it is now,
and what to invalidate and publish once a write commits (admin.py, variants.py, service.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from kernel.core.status import not_found
from kernel.host.plugin import PluginContext

from . import rows
from .contract import Product, ProductChanged
from .rows import PRODUCT_COLS, PRODUCT_FROM


class CatalogWriter:
    """Mixed into CatalogServicer through AdminMixin and VariantsMixin, which extend it."""

    def __init__(self, ctx: PluginContext) -> None:
        self.plugin = ctx
        self.db = ctx.db
        self.bus = ctx.bus
        self.cache = ctx.runtime.cache

    async def product_now(self, pid: uuid.UUID | str) -> Product:
        row = await self.db.fetchrow(f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.id = $1", pid)
        if row is None:
            raise not_found(f"product {str(pid)!r}")
        return (await rows.products_with_variants(self.db, [row]))[0]

    async def refresh_price(self, pid: uuid.UUID) -> Product:
        """Set the product's price to its lowest variant price (caller holds the product's lock)."""
        await self.db.execute(
            "UPDATE catalog_product p SET price_minor = a.lo, currency = a.cur, updated_at = now() "
            "FROM (SELECT min(price_minor) AS lo, min(currency) AS cur FROM catalog_variant WHERE product_id = $1) a "
            "WHERE p.id = $1 AND a.lo IS NOT NULL", pid)
        return await self.product_now(pid)

    # ------------------------------------------------------------ after commit

    async def changed(self, tags: Iterable[str], products: Iterable[tuple[str, str, str]] = (),
                      events: Iterable[ProductChanged] = ()) -> None:
        """Invalidate ``tags`` once the transaction commits and publish ProductChanged for
        ``products`` (id, slug, categorySlug) and ``events`` (into the outbox, in the transaction)."""
        tag_list = sorted(set(tags))
        cache = self.cache

        async def invalidate() -> None:
            await cache.invalidate(tag_list)

        pending = self.bus.after_commit(invalidate)
        if pending is not None:
            await pending
        for product_id, slug, category_slug in products:
            await self.bus.publish(ProductChanged(product_id=product_id, slug=slug, category_slug=category_slug))
        for event in events:
            await self.bus.publish(event)

    async def changed_products(self, products: Iterable[Product], extra_tags: Iterable[str] = (), *,
                               change: str = "updated", previous_stock: dict[str, int] | None = None,
                               stale: Iterable[Product] = ()) -> None:
        """Invalidate what ``products`` (and ``stale``, their former selves) touch; one event per product."""
        items = list(products)
        touched = items + list(stale)
        tags = rows.product_tags((p.slug for p in touched), (p.category_slug for p in touched)) | set(extra_tags)
        prev = previous_stock or {}
        await self.changed(tags, events=[
            ProductChanged(product_id=p.id, slug=p.slug, category_slug=p.category_slug, change=change, product=p,
                           previous_stock_qty=prev.get(p.id)) for p in items])

