"""The Catalog servicer: public reads, the stock methods orders calls, and (via AdminMixin) admin writes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from kernel.context import CallContext
from kernel.plugin import PluginContext
from kernel.status import BusError, Status, not_found

from . import rows, search
from .admin import AdminMixin
from .contract import (
    Category,
    GetProduct,
    GetProductsByIds,
    ListCategories,
    ListProducts,
    Product,
    ProductChanged,
    ProductList,
    ProductPage,
    ReserveStock,
    Restock,
    StockLine,
)
from .rows import PRODUCT_COLS, PRODUCT_FROM, PRODUCT_RETURNING

log = logging.getLogger("shop.plugins.catalog")

SHORT_SEARCH = 3  # below this many characters full-text search finds little; the name prefix match helps

_ORDER = {
    "newest": "p.created_at DESC, p.id DESC",
    "name": "p.name, p.id",
    "price_asc": "p.price_minor, p.id",
    "price_desc": "p.price_minor DESC, p.id DESC",
}


class CatalogServicer(AdminMixin):
    def __init__(self, ctx: PluginContext) -> None:
        self.plugin = ctx
        self.db = ctx.db
        self.bus = ctx.bus
        self.cache = ctx.runtime.cache
        self.fills: dict[str, int] = {}  # servicer runs per method, for observability and tests

    def _count(self, name: str) -> None:
        self.fills[name] = self.fills.get(name, 0) + 1

    # ------------------------------------------------------------ after commit

    async def changed(self, tags: Iterable[str], products: Iterable[tuple[str, str, str]] = ()) -> None:
        """Invalidate ``tags`` and publish ProductChanged(id, slug, categorySlug) once the transaction commits."""
        tag_list = sorted(set(tags))
        cache = self.cache

        async def invalidate() -> None:
            await cache.invalidate(tag_list)

        pending = self.bus.after_commit(invalidate)
        if pending is not None:
            await pending
        for product_id, slug, category_slug in products:
            await self.bus.publish(ProductChanged(product_id=product_id, slug=slug, category_slug=category_slug))

    async def changed_products(self, products: Iterable[Product], extra_tags: Iterable[str] = ()) -> None:
        items = list(products)
        tags = rows.product_tags((p.slug for p in items), (p.category_slug for p in items)) | set(extra_tags)
        await self.changed(tags, [(p.id, p.slug, p.category_slug) for p in items])

    # ------------------------------------------------------------------ reads

    async def list_categories(self, req: ListCategories, ctx: CallContext) -> tuple[Category, ...]:
        self._count("list_categories")
        records = await self.db.fetch("SELECT id::text AS id, slug, name FROM catalog_category ORDER BY name, id")
        return tuple(rows.category(r) for r in records)

    async def list_products(self, req: ListProducts, ctx: CallContext) -> ProductPage:
        self._count("list_products")
        where: list[str] = []
        args: list[Any] = []
        if req.category_slug:
            category_id = await self.db.fetchval("SELECT id FROM catalog_category WHERE slug = $1", req.category_slug)
            if category_id is None:
                # NOT_FOUND rather than an empty page: errors are never cached, so unknown
                # slugs cannot fill the cache, and a typo is visible to the integrator.
                raise BusError(Status.NOT_FOUND, f"category {req.category_slug!r} not found",
                               field_errors=[("categorySlug", "no such category")])
            args.append(category_id)
            where.append(f"p.category_id = ${len(args)}")
        term = (req.search or "").strip()
        rank = ""
        if term:
            args.append(term)
            q = f"websearch_to_tsquery('english', ${len(args)})"
            args.append(rows.like_prefix(term.lower()))
            like = f"lower(p.name) LIKE ${len(args)}"
            # Two indexed predicates (GIN on search, text_pattern_ops on lower(name)): a BitmapOr.
            where.append(f"(p.search @@ {q} OR {like})")
            # A name that starts with the query outranks any text match; short queries rely on it.
            rank = f"(ts_rank(p.search, {q}) + CASE WHEN {like} THEN 1.0 ELSE 0.0 END)"
        sort = req.sort or ("relevance" if term else "newest")
        if sort == "relevance":
            order = f"{rank} DESC, p.created_at DESC, p.id DESC" if rank else _ORDER["newest"]
        else:
            order = _ORDER[sort]
        where_sql = ("WHERE " + " AND ".join(where)) if where else ""
        offset = (req.page - 1) * req.page_size
        n = len(args)
        if rank and sort == "relevance" and offset + req.page_size <= search.CANDIDATES:
            # search.py: rank a bounded candidate set; estimate the total when it is full.
            records = await self.db.fetch(search.bounded_sql(PRODUCT_COLS, where_sql, rank, n), *args,
                                          search.CANDIDATES + 1, req.page_size, offset)
            if records or offset == 0:
                found = int(records[0]["cand_count"]) if records else 0
                exact = found <= search.CANDIDATES
                total = found if exact else search.estimate(found, records[0]["last_block"],
                                                            await search.table_pages(self.db))
                return ProductPage(items=tuple(rows.product(r) for r in records), page=req.page,
                                   page_size=req.page_size, total=total, total_exact=exact)
        # One scan: the page and the total together (a window count over the filtered rows).
        records = await self.db.fetch(
            f"SELECT {PRODUCT_COLS}, count(*) OVER () AS total_count FROM {PRODUCT_FROM} {where_sql} "
            f"ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
            *args, req.page_size, offset,
        )
        if records:
            total = int(records[0]["total_count"])
        elif offset == 0:
            total = 0  # nothing matches at all
        else:  # past the end: the total still has to be told
            total = await self.db.fetchval(f"SELECT count(*) FROM catalog_product p {where_sql}", *args)
        items = tuple(rows.product(r) for r in records)
        return ProductPage(items=items, page=req.page, page_size=req.page_size, total=total)

    async def get_product(self, req: GetProduct, ctx: CallContext) -> Product:
        self._count("get_product")
        row = await self.db.fetchrow(f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.slug = $1", req.slug)
        if row is None:
            raise not_found(f"product {req.slug!r}")
        return rows.product(row)

    async def get_products_by_ids(self, req: GetProductsByIds, ctx: CallContext) -> ProductList:
        """Products in the order asked for; unknown ids are left out (the caller compares)."""
        wanted: list[uuid.UUID] = []
        for raw in req.ids:
            u = rows.parse_uuid(raw)
            if u is not None and u not in wanted:
                wanted.append(u)
        if not wanted:
            return ProductList(items=())
        records = await self.db.fetch(f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.id = ANY($1::uuid[])",
                                      wanted)
        by_id = {r["id"]: rows.product(r) for r in records}
        return ProductList(items=tuple(by_id[str(u)] for u in wanted if str(u) in by_id))

    # ------------------------------------------------------------------ stock

    @staticmethod
    def _aggregate(lines: tuple[StockLine, ...], *, strict: bool) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
        """(qty per product, first line index per product); repeated lines add up."""
        qty: dict[uuid.UUID, int] = {}
        first: dict[uuid.UUID, int] = {}
        for i, line in enumerate(lines):
            u = rows.parse_uuid(line.product_id)
            if u is None:
                if strict:
                    raise BusError(Status.NOT_FOUND, f"product {line.product_id!r} not found",
                                   field_errors=[(f"lines[{i}].productId", "no such product")])
                continue
            qty[u] = qty.get(u, 0) + line.qty
            first.setdefault(u, i)
        return qty, first

    async def reserve_stock(self, req: ReserveStock, ctx: CallContext) -> ProductList:
        """Take stock for every line or for none; never below zero.

        Rows are locked in id order, so concurrent reservations of overlapping
        products queue instead of deadlocking. Run inside the caller's transaction
        (checkout) when there is one.
        """
        need, first = self._aggregate(req.lines, strict=True)
        ids = sorted(need)
        async with self.db.transaction():
            locked = await self.db.fetch(
                "SELECT id, slug, name, stock_qty FROM catalog_product WHERE id = ANY($1::uuid[]) "
                "ORDER BY id FOR UPDATE", ids)
            found = {r["id"]: r for r in locked}
            for u in ids:
                if u not in found:
                    raise BusError(Status.NOT_FOUND, f"product {str(u)!r} not found",
                                   field_errors=[(f"lines[{first[u]}].productId", "no such product")])
            for u in ids:
                r = found[u]
                if r["stock_qty"] < need[u]:
                    raise BusError(
                        Status.FAILED_PRECONDITION,
                        f"Only {r['stock_qty']} of {r['name']} ({r['slug']}) left; {need[u]} asked for.",
                        reason="OUT_OF_STOCK",
                        field_errors=[(f"lines[{first[u]}].qty", f"only {r['stock_qty']} of {r['slug']} in stock")],
                    )
            updated = await self._move_stock(ids, [-need[u] for u in ids])
            await self.changed_products(updated)
        return ProductList(items=tuple(updated))

    async def restock(self, req: Restock, ctx: CallContext) -> ProductList:
        """Put stock back (cancelled orders). Products deleted since are skipped, not an error."""
        back, _first = self._aggregate(req.lines, strict=False)
        ids = sorted(back)
        if not ids:
            return ProductList(items=())
        async with self.db.transaction():
            locked = await self.db.fetch(
                "SELECT id FROM catalog_product WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", ids)
            present = [r["id"] for r in locked]
            updated = await self._move_stock(present, [back[u] for u in present]) if present else []
            await self.changed_products(updated)
        return ProductList(items=tuple(updated))

    async def _move_stock(self, ids: list[uuid.UUID], deltas: list[int]) -> list[Product]:
        """One statement for all lines; the CHECK (stock_qty >= 0) backs the code's check."""
        records = await self.db.fetch(
            f"UPDATE catalog_product p SET stock_qty = p.stock_qty + v.delta, updated_at = now() "
            f"FROM unnest($1::uuid[], $2::bigint[]) AS v(id, delta) WHERE p.id = v.id RETURNING {PRODUCT_RETURNING}",
            ids, deltas,
        )
        return sorted((rows.product(r) for r in records), key=lambda p: p.id)
