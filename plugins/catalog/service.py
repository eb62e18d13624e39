"""The Catalog servicer: public reads, the stock methods orders calls, and (via AdminMixin) admin writes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, not_found
from kernel.host.plugin import PluginContext

from . import facets, filters, rows, search
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
    StockTaken,
    TakenLine,
    TakeStock,
)
from .display import conversion
from .rows import PRODUCT_COLS, PRODUCT_FROM
from .variants import VariantsMixin

log = logging.getLogger("shop.plugins.catalog")

SHORT_SEARCH = 3  # below this many characters full-text search finds little; the name prefix match helps

_ORDER = {
    "newest": "p.created_at DESC, p.id DESC",
    "name": "p.name, p.id",
    "price_asc": "p.price_minor, p.id",
    "price_desc": "p.price_minor DESC, p.id DESC",
}


def _variant_gone(variant_id: uuid.UUID, line: int) -> BusError:
    """A line's variant no longer exists (deleted since the caller saw it)."""
    return BusError(Status.NOT_FOUND, f"variant {str(variant_id)!r} not found",
                    field_errors=[(f"lines[{line}].variantId", "no such variant")])


def _out_of_stock(row: Any, asked: int, line: int) -> BusError:
    """A line asks for more than its variant's stock (``row``: sku, stock_qty, slug, name)."""
    what = row["slug"] if row["sku"] == row["slug"] else f"{row['slug']}, SKU {row['sku']}"
    return BusError(Status.FAILED_PRECONDITION, f"Only {row['stock_qty']} of {row['name']} ({what}) left; "
                    f"{asked} asked for.", reason="OUT_OF_STOCK",
                    field_errors=[(f"lines[{line}].qty", f"only {row['stock_qty']} of {what} in stock")])


class CatalogServicer(AdminMixin, VariantsMixin):
    def __init__(self, ctx: PluginContext) -> None:
        super().__init__(ctx)
        self.fills: dict[str, int] = {}  # servicer runs per method, for observability and tests

    def _count(self, name: str) -> None:
        self.fills[name] = self.fills.get(name, 0) + 1

    # ------------------------------------------------------------------ reads

    async def list_categories(self, req: ListCategories, ctx: CallContext) -> tuple[Category, ...]:
        self._count("list_categories")
        records = await self.db.fetch("SELECT id::text AS id, slug, name FROM catalog_category ORDER BY name, id")
        return tuple(rows.category(r) for r in records)

    async def list_products(self, req: ListProducts, ctx: CallContext) -> ProductPage:
        """A page of products; every filter narrows one WHERE, which the page, total and facets share."""
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
        # Display currency, price, stock and option filters (plugins/catalog/filters.py).
        conv = None if req.display_currency is None else await conversion(self.db, self.bus, req.display_currency, ctx)
        flt = filters.build(req, conv, args)
        where.extend(flt.product_where)
        unconverted = tuple(conv.missing) if conv is not None else ()
        sort = req.sort or ("relevance" if term else "newest")
        if sort == "relevance":
            order = f"{rank} DESC, p.created_at DESC, p.id DESC" if rank else _ORDER["newest"]
        elif sort in ("price_asc", "price_desc") and conv is not None:
            order = filters.display_order(sort)
        else:
            order = _ORDER[sort]
        where_sql = ("WHERE " + " AND ".join(where)) if where else ""
        offset = (req.page - 1) * req.page_size
        n = len(args)
        page_facets = None
        if rank and sort == "relevance" and offset + req.page_size <= search.CANDIDATES:
            # search.py: rank a bounded candidate set; estimate the total when it is full.
            records = await self.db.fetch(
                search.bounded_sql(PRODUCT_COLS, where_sql, rank, n, flt.display_join, flt.display_col),
                *args, search.CANDIDATES + 1, req.page_size, offset)
            if records or offset == 0:
                found = int(records[0]["cand_count"]) if records else 0
                exact = found <= search.CANDIDATES
                total = found if exact else search.estimate(found, records[0]["last_block"],
                                                            await search.table_pages(self.db))
                items = tuple(await rows.products_with_variants(self.db, records, req.display_currency))
                if req.facets:  # over the candidates, scaled, when the total is an estimate (facets.py)
                    page_facets = await facets.compute(self.db, where_sql, args, flt, conv,
                                                       None if exact else search.CANDIDATES + 1,
                                                       1.0 if exact else total / found)
                return ProductPage(items=items, page=req.page, page_size=req.page_size, total=total,
                                   total_exact=exact, facets=page_facets, unconverted_currencies=unconverted)
        # One scan: the page and the total together (a window count over the filtered rows).
        records = await self.db.fetch(
            f"SELECT {PRODUCT_COLS}{flt.display_col}, count(*) OVER () AS total_count "
            f"FROM {PRODUCT_FROM}{flt.display_join} {where_sql} "
            f"ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
            *args, req.page_size, offset,
        )
        if records:
            total = int(records[0]["total_count"])
        elif offset == 0:
            total = 0  # nothing matches at all
        else:  # past the end: the total still has to be told
            total = await self.db.fetchval(
                f"SELECT count(*) FROM catalog_product p{flt.display_join} {where_sql}", *args)
        items = tuple(await rows.products_with_variants(self.db, records, req.display_currency))
        if req.facets:
            page_facets = await facets.compute(self.db, where_sql, args, flt, conv)
        return ProductPage(items=items, page=req.page, page_size=req.page_size, total=total, facets=page_facets,
                           unconverted_currencies=unconverted)

    async def get_product(self, req: GetProduct, ctx: CallContext) -> Product:
        self._count("get_product")
        args: list[Any] = [req.slug]
        conv = None if req.display_currency is None else await conversion(self.db, self.bus, req.display_currency, ctx)
        flt = filters.build(ListProducts(), conv, args)  # no filters: only the display-price join and column
        row = await self.db.fetchrow(
            f"SELECT {PRODUCT_COLS}{flt.display_col} FROM {PRODUCT_FROM}{flt.display_join} WHERE p.slug = $1", *args)
        if row is None:
            raise not_found(f"product {req.slug!r}")
        return (await rows.products_with_variants(self.db, [row], req.display_currency))[0]

    async def get_products_by_ids(self, req: GetProductsByIds, ctx: CallContext) -> ProductList:
        """Products in the order asked for (then those of ``variantIds``); unknown ids are left out."""
        wanted: list[uuid.UUID] = []
        for raw in req.ids:
            u = rows.parse_uuid(raw)
            if u is not None and u not in wanted:
                wanted.append(u)
        variant_ids = [u for u in (rows.parse_uuid(v) for v in req.variant_ids) if u is not None]
        if variant_ids:
            for r in await self.db.fetch(
                    "SELECT DISTINCT product_id FROM catalog_variant WHERE id = ANY($1::uuid[])", variant_ids):
                if r["product_id"] not in wanted:
                    wanted.append(r["product_id"])
        if not wanted:
            return ProductList(items=())
        records = await self.db.fetch(f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.id = ANY($1::uuid[])",
                                      wanted)
        by_id = {p.id: p for p in await rows.products_with_variants(self.db, records)}
        return ProductList(items=tuple(by_id[str(u)] for u in wanted if str(u) in by_id))

    # ------------------------------------------------------------------ stock

    async def _resolve_lines(self, lines: tuple[StockLine, ...], *, strict: bool,
                             ) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
        """(qty per variant, first line index per variant); repeated lines add up.

        A line without variantId means the product's only variant; strict (reservations)
        refuses unknown products/variants and products with several variants, lenient
        (restock) skips what no longer exists.
        """
        qty: dict[uuid.UUID, int] = {}
        first: dict[uuid.UUID, int] = {}
        parsed = [(rows.parse_uuid(line.product_id),
                   None if line.variant_id is None else rows.parse_uuid(line.variant_id)) for line in lines]
        pids = sorted({p for p, _v in parsed if p is not None})
        known: dict[uuid.UUID, list[uuid.UUID]] = {p: [] for p in pids}
        for r in await self.db.fetch("SELECT product_id, id FROM catalog_variant WHERE product_id = ANY($1::uuid[]) "
                                     "ORDER BY product_id, position, created_at, id", pids):
            known[r["product_id"]].append(r["id"])
        for i, (line, (pid, vid)) in enumerate(zip(lines, parsed, strict=True)):
            variants = known.get(pid, []) if pid is not None else []
            if line.variant_id is None:
                target = variants[0] if len(variants) == 1 or (variants and not strict) else None
                if target is None and strict:
                    if not variants:
                        raise BusError(Status.NOT_FOUND, f"product {line.product_id!r} not found",
                                       field_errors=[(f"lines[{i}].productId", "no such product")])
                    raise BusError(Status.INVALID_ARGUMENT, "this product has several variants; name one",
                                   field_errors=[(f"lines[{i}].variantId", "is required: the product has variants")])
            else:
                target = vid if vid is not None and vid in variants else None
                if target is None and strict:
                    raise BusError(Status.NOT_FOUND, f"variant {line.variant_id!r} of product {line.product_id!r} "
                                   "not found", field_errors=[(f"lines[{i}].variantId", "no such variant")])
            if target is None:
                continue
            qty[target] = qty.get(target, 0) + line.qty
            first.setdefault(target, i)
        return qty, first

    async def reserve_stock(self, req: ReserveStock, ctx: CallContext) -> ProductList:
        """Take stock for every line or for none; never below zero.

        Variant rows are locked in id order (and nothing else is locked), so concurrent
        reservations of overlapping variants queue instead of deadlocking. Run inside
        the caller's transaction (checkout) when there is one.
        """
        async with self.db.transaction():
            need, first = await self._resolve_lines(req.lines, strict=True)
            ids = sorted(need)
            locked = await self.db.fetch(
                "SELECT v.id, v.sku, v.stock_qty, p.slug, p.name FROM catalog_variant v "
                "JOIN catalog_product p ON p.id = v.product_id WHERE v.id = ANY($1::uuid[]) "
                "ORDER BY v.id FOR UPDATE OF v", ids)
            found = {r["id"]: r for r in locked}
            for u in ids:
                if u not in found:  # deleted between the lookup and the lock
                    raise _variant_gone(u, first[u])
            for u in ids:
                r = found[u]
                if r["stock_qty"] < need[u]:
                    raise _out_of_stock(r, need[u], first[u])
            updated = await self._move_stock(ids, [-need[u] for u in ids])
            await self.changed_products(updated, change="stock",
                                        previous_stock=_stock_before(updated, need, -1))
        return ProductList(items=tuple(updated))

    async def take_stock(self, req: TakeStock, ctx: CallContext) -> StockTaken:
        """reserve_stock in one round trip: lock the variants in id order and take the stock.

        Made for the end of a checkout transaction, so the hot rows stay locked only from
        here to the commit. A line short of stock (or gone) takes nothing: OUT_OF_STOCK
        (NOT_FOUND) and the caller's transaction rolls back.
        """
        need: dict[uuid.UUID, int] = {}
        first: dict[uuid.UUID, int] = {}
        for i, line in enumerate(req.lines):
            vid = None if line.variant_id is None else rows.parse_uuid(line.variant_id)
            if vid is None:
                raise BusError(Status.INVALID_ARGUMENT, "every line must name its variant",
                               field_errors=[(f"lines[{i}].variantId", "must be a variant id")])
            need[vid] = need.get(vid, 0) + line.qty
            first.setdefault(vid, i)
        ids = sorted(need)
        qtys = [need[u] for u in ids]
        async with self.db.transaction():
            taken = await self.db.fetch(
                "WITH locked AS (SELECT id FROM catalog_variant WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE) "
                "UPDATE catalog_variant v SET stock_qty = v.stock_qty - d.n, updated_at = now() "
                "FROM unnest($1::uuid[], $2::bigint[]) AS d(id, n), locked l, catalog_product p, catalog_category c "
                "WHERE v.id = d.id AND l.id = d.id AND v.stock_qty >= d.n AND p.id = v.product_id "
                "AND c.id = p.category_id "
                "RETURNING v.id, v.product_id, v.price_minor, v.currency, p.slug, c.slug AS category_slug, "
                # A subquery of RETURNING sees the rows as they were before this statement.
                "(SELECT sum(w.stock_qty) FROM catalog_variant w WHERE w.product_id = v.product_id) AS before",
                ids, qtys)
            if len(taken) < len(ids):
                got = {r["id"] for r in taken}
                short = [u for u in ids if u not in got]
                info = {r["id"]: r for r in await self.db.fetch(
                    "SELECT v.id, v.sku, v.stock_qty, p.slug, p.name FROM catalog_variant v "
                    "JOIN catalog_product p ON p.id = v.product_id WHERE v.id = ANY($1::uuid[])", short)}
                u = short[0]
                r = info.get(u)
                raise _variant_gone(u, first[u]) if r is None else _out_of_stock(r, need[u], first[u])
            # One stock event per product with its total before and after (for stock.low), computed in
            # the statement above: no product is loaded while the hot rows are locked.
            moved: dict[str, list[Any]] = {}
            for r in taken:
                m = moved.setdefault(str(r["product_id"]), [r["slug"], r["category_slug"], int(r["before"]), 0])
                m[3] += need[r["id"]]
            await self.changed(rows.product_tags((m[0] for m in moved.values()), (m[1] for m in moved.values())),
                               events=[ProductChanged(product_id=pid, slug=m[0], category_slug=m[1], change="stock",
                                                      previous_stock_qty=m[2], stock_qty=m[2] - m[3])
                                       for pid, m in sorted(moved.items())])
        return StockTaken(items=tuple(
            TakenLine(variant_id=str(r["id"]), product_id=str(r["product_id"]), price_minor=r["price_minor"],
                      currency=r["currency"]) for r in taken))

    async def restock(self, req: Restock, ctx: CallContext) -> ProductList:
        """Put stock back (cancelled orders). Products or variants deleted since are skipped, not an error."""
        async with self.db.transaction():
            back, _first = await self._resolve_lines(req.lines, strict=False)
            ids = sorted(back)
            if not ids:
                return ProductList(items=())
            locked = await self.db.fetch(
                "SELECT id FROM catalog_variant WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", ids)
            present = [r["id"] for r in locked]
            updated = await self._move_stock(present, [back[u] for u in present]) if present else []
            await self.changed_products(updated, change="stock",
                                        previous_stock=_stock_before(updated, back, +1))
        return ProductList(items=tuple(updated))

    async def _move_stock(self, ids: list[uuid.UUID], deltas: list[int]) -> list[Product]:
        """One statement for all variants; the CHECK (stock_qty >= 0) backs the code's check.

        Returns the products concerned, with their variants as they are now.
        """
        moved = await self.db.fetch(
            "UPDATE catalog_variant v SET stock_qty = v.stock_qty + d.delta, updated_at = now() "
            "FROM unnest($1::uuid[], $2::bigint[]) AS d(id, delta) WHERE v.id = d.id RETURNING v.product_id",
            ids, deltas,
        )
        records = await self.db.fetch(f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.id = ANY($1::uuid[])",
                                      list({r["product_id"] for r in moved}))
        return sorted(await rows.products_with_variants(self.db, records), key=lambda p: p.id)


def _stock_before(products: Iterable[Product], moved: dict[uuid.UUID, int], sign: int) -> dict[str, int]:
    """Each product's total stock before its variants moved by ``sign * moved[variant]`` (for stock.low)."""
    return {p.id: p.stock_qty - sign * sum(moved.get(uuid.UUID(v.id), 0) for v in p.variants) for p in products}
