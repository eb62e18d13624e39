"""Admin writes: categories, products, prices, stock. Each invalidates exactly what it makes stale, after commit."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from kernel.core import iso4217
from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, invalid, not_found

from . import rows
from .contract import (
    AdjustStock,
    Category,
    CreateCategory,
    CreateProduct,
    DeleteById,
    Deleted,
    ListLowStock,
    LowStockItem,
    LowStockPage,
    Product,
    ProductChanged,
    SetPrice,
    SetStock,
    UpdateCategory,
    UpdateProduct,
)
from .rows import PRODUCT_COLS, PRODUCT_FROM, PRODUCT_RETURNING, VARIANT_COLS
from .writer import CatalogWriter

STOCK_MAX = 10**9  # SetStock's bound; adjustments may not go past it either (GraphQL Int is 32-bit)


def require_admin(ctx: CallContext) -> None:
    """The interceptor checked the scope; a user also needs the admin role (defence in depth)."""
    p = ctx.principal
    if p.kind == "user" and "admin" not in p.roles:
        raise BusError(Status.PERMISSION_DENIED, "This needs the admin role.", reason="NOT_ADMIN")


def _id(raw: str, what: str) -> uuid.UUID:
    u = rows.parse_uuid(raw)
    if u is None:
        raise not_found(f"{what} {raw!r}")
    return u


def _currency(code: str) -> None:
    if not iso4217.is_active(code):
        raise invalid("currency", "is not an active ISO 4217 currency code")


def _slug_taken(what: str) -> BusError:
    return BusError(Status.ALREADY_EXISTS, f"a {what} with this slug already exists",
                    field_errors=[("slug", "is already taken")])


def _unknown_category() -> BusError:
    return invalid("categoryId", "no such category")


class AdminMixin(CatalogWriter):
    """Admin writes of CatalogServicer."""

    # ----------------------------------------------------------- low stock

    async def list_low_stock(self, req: ListLowStock, ctx: CallContext) -> LowStockPage:
        require_admin(ctx)
        total = await self.db.fetchval("SELECT count(*) FROM catalog_variant WHERE stock_qty <= $1", req.threshold)
        found = await self.db.fetch(
            f"SELECT {VARIANT_COLS}, p.slug AS product_slug, p.name AS product_name FROM catalog_variant v "
            "JOIN catalog_product p ON p.id = v.product_id WHERE v.stock_qty <= $1 "
            "ORDER BY v.stock_qty, p.name, v.sku, v.id LIMIT $2 OFFSET $3",
            req.threshold, req.page_size, (req.page - 1) * req.page_size)
        items = tuple(LowStockItem(product_id=r["product_id"], product_slug=r["product_slug"],
                                   product_name=r["product_name"], variant=rows.variant(r)) for r in found)
        return LowStockPage(items=items, page=req.page, page_size=req.page_size, total=total,
                            threshold=req.threshold)

    # ----------------------------------------------------------- categories

    async def create_category(self, req: CreateCategory, ctx: CallContext) -> Category:
        require_admin(ctx)
        async with self.db.transaction():
            row = await self.db.fetchrow(
                "INSERT INTO catalog_category (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING "
                "RETURNING id::text AS id, slug, name", req.slug, req.name)
            if row is None:
                raise _slug_taken("category")
            # A list for this slug may have been asked for before (NOT_FOUND is not cached, but be exact).
            await self.changed({rows.CATEGORIES_TAG, rows.list_tag(req.slug)})
        return rows.category(row)

    async def update_category(self, req: UpdateCategory, ctx: CallContext) -> Category:
        require_admin(ctx)
        cid = _id(req.id, "category")
        try:
            async with self.db.transaction():
                old = await self.db.fetchrow("SELECT slug, name FROM catalog_category WHERE id = $1 FOR UPDATE", cid)
                if old is None:
                    raise not_found(f"category {req.id!r}")
                slug = req.slug if req.slug is not None else old["slug"]
                name = req.name if req.name is not None else old["name"]
                if slug != old["slug"] and await self.db.fetchval(
                        "SELECT 1 FROM catalog_category WHERE slug = $1", slug):
                    raise _slug_taken("category")
                row = await self.db.fetchrow(
                    "UPDATE catalog_category SET slug = $2, name = $3, updated_at = now() WHERE id = $1 "
                    "RETURNING id::text AS id, slug, name", cid, slug, name)
                tags = {rows.CATEGORIES_TAG}
                if slug != old["slug"]:
                    # Every product of the category carries categorySlug: all their entries are stale.
                    members = await self.db.fetch(
                        f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.category_id = $1", cid)
                    products = [rows.product(r) for r in members]  # ids and slugs only: no variants needed
                    tags |= rows.product_tags((p.slug for p in products), (old["slug"], slug))
                    await self.changed(tags, events=[ProductChanged(
                        product_id=p.id, slug=p.slug, category_slug=p.category_slug, product=p) for p in products])
                else:
                    await self.changed(tags)
        except asyncpg.UniqueViolationError:
            raise _slug_taken("category") from None
        return rows.category(row)

    async def delete_category(self, req: DeleteById, ctx: CallContext) -> Deleted:
        require_admin(ctx)
        cid = _id(req.id, "category")
        not_empty = BusError(Status.FAILED_PRECONDITION, "The category still has products; move or delete them first.",
                             reason="CATEGORY_NOT_EMPTY")
        try:
            async with self.db.transaction():
                slug = await self.db.fetchval("SELECT slug FROM catalog_category WHERE id = $1 FOR UPDATE", cid)
                if slug is None:
                    raise not_found(f"category {req.id!r}")
                if await self.db.fetchval("SELECT 1 FROM catalog_product WHERE category_id = $1 LIMIT 1", cid):
                    raise not_empty
                await self.db.execute("DELETE FROM catalog_category WHERE id = $1", cid)
                await self.changed({rows.CATEGORIES_TAG, rows.list_tag(slug)})
        except asyncpg.ForeignKeyViolationError:  # a product arrived meanwhile; the FK refused the delete
            raise not_empty from None
        return Deleted(id=req.id, deleted=True)

    # -------------------------------------------------------------- products

    async def _category_slug(self, raw_id: str) -> tuple[uuid.UUID, str]:
        cid = rows.parse_uuid(raw_id)
        slug = None if cid is None else await self.db.fetchval(
            "SELECT slug FROM catalog_category WHERE id = $1 FOR KEY SHARE", cid)
        if cid is None or slug is None:
            raise _unknown_category()
        return cid, slug

    async def create_product(self, req: CreateProduct, ctx: CallContext) -> Product:
        """The product and its default variant (same id, no options, SKU = ``sku`` or the slug)."""
        require_admin(ctx)
        _currency(req.currency)
        try:
            async with self.db.transaction():
                cid, _cat_slug = await self._category_slug(req.category_id)
                pid = await self.db.fetchval(
                    "INSERT INTO catalog_product (category_id, slug, name, description, price_minor, currency) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING RETURNING id",
                    cid, req.slug, req.name, req.description, req.price_minor, req.currency)
                if pid is None:
                    raise _slug_taken("product")
                await self.db.execute(
                    "INSERT INTO catalog_variant (id, product_id, sku, price_minor, currency, stock_qty) "
                    "VALUES ($1, $1, $2, $3, $4, $5)", pid, req.sku or req.slug, req.price_minor, req.currency,
                    req.stock_qty)
                product = await self.product_now(pid)
                await self.changed_products([product], change="created")
        except asyncpg.ForeignKeyViolationError:
            raise _unknown_category() from None
        except asyncpg.UniqueViolationError as exc:
            from .variants import sku_taken  # variants imports this module

            if exc.constraint_name == "catalog_variant_sku_key":
                raise sku_taken("sku" if req.sku else "slug") from None
            raise _slug_taken("product") from None
        return product

    async def update_product(self, req: UpdateProduct, ctx: CallContext) -> Product:
        require_admin(ctx)
        pid = _id(req.id, "product")
        try:
            async with self.db.transaction():
                old_row = await self.db.fetchrow(
                    f"SELECT {PRODUCT_COLS} FROM {PRODUCT_FROM} WHERE p.id = $1 FOR UPDATE OF p", pid)
                if old_row is None:
                    raise not_found(f"product {req.id!r}")
                old = rows.product(old_row)
                sets: list[str] = []
                args: list[Any] = [pid]
                if req.slug is not None and req.slug != old.slug:
                    if await self.db.fetchval("SELECT 1 FROM catalog_product WHERE slug = $1", req.slug):
                        raise _slug_taken("product")
                    args.append(req.slug)
                    sets.append(f"slug = ${len(args)}")
                if req.name is not None:
                    args.append(req.name)
                    sets.append(f"name = ${len(args)}")
                if req.description is not None:
                    args.append(req.description)
                    sets.append(f"description = ${len(args)}")
                if req.category_id is not None and req.category_id != old.category_id:
                    cid, _slug = await self._category_slug(req.category_id)
                    args.append(cid)
                    sets.append(f"category_id = ${len(args)}")
                if not sets:
                    return await self.product_now(pid)  # nothing changes, nothing to invalidate
                new = await self._update_returning(", ".join(sets), args)
                assert new is not None  # the row is locked FOR UPDATE above
                await self.changed_products([new], stale=[old])
        except asyncpg.UniqueViolationError:
            raise _slug_taken("product") from None
        except asyncpg.ForeignKeyViolationError:
            raise _unknown_category() from None
        return new

    async def _update_returning(self, sets: str, args: list[Any]) -> Product | None:
        row = await self.db.fetchrow(
            f"UPDATE catalog_product p SET {sets}, updated_at = now() WHERE p.id = $1 RETURNING {PRODUCT_RETURNING}",
            *args)
        return None if row is None else (await rows.products_with_variants(self.db, [row]))[0]

    async def delete_product(self, req: DeleteById, ctx: CallContext) -> Deleted:
        require_admin(ctx)
        pid = _id(req.id, "product")
        async with self.db.transaction():
            # The product as it was (variants included): what product.deleted carries.
            gone = await self.product_now(pid)
            if await self.db.fetchval("DELETE FROM catalog_product WHERE id = $1 RETURNING id", pid) is None:
                raise not_found(f"product {req.id!r}")
            await self.changed_products([gone], change="deleted")
        return Deleted(id=req.id, deleted=True)

    async def _only_variant(self, raw_id: str) -> tuple[uuid.UUID, uuid.UUID]:
        """(product id, its single variant id), the product locked; products with variants are refused."""
        pid = _id(raw_id, "product")
        if await self.db.fetchval("SELECT 1 FROM catalog_product WHERE id = $1 FOR UPDATE", pid) is None:
            raise not_found(f"product {raw_id!r}")
        variants = await self.db.fetch("SELECT id FROM catalog_variant WHERE product_id = $1", pid)
        if len(variants) != 1:
            raise BusError(Status.FAILED_PRECONDITION,
                           f"This product has {len(variants)} variants: set price and stock per variant "
                           "(/api/admin/variants/{id}/price and /stock).", reason="HAS_VARIANTS")
        return pid, variants[0]["id"]

    async def set_price(self, req: SetPrice, ctx: CallContext) -> Product:
        """The price of a single-variant product (its variant's price)."""
        require_admin(ctx)
        _currency(req.currency)
        async with self.db.transaction():
            pid, vid = await self._only_variant(req.id)
            await self.db.execute("UPDATE catalog_variant SET price_minor = $2, currency = $3, updated_at = now() "
                                  "WHERE id = $1", vid, req.price_minor, req.currency)
            product = await self.refresh_price(pid)
            await self.changed_products([product])
        return product

    async def set_stock(self, req: SetStock, ctx: CallContext) -> Product:
        require_admin(ctx)
        async with self.db.transaction():
            pid, vid = await self._only_variant(req.id)
            before = await self.db.fetchval("SELECT stock_qty FROM catalog_variant WHERE id = $1", vid)
            await self.db.execute("UPDATE catalog_variant SET stock_qty = $2, updated_at = now() WHERE id = $1",
                                  vid, req.stock_qty)
            product = await self.product_now(pid)
            await self.changed_products([product], previous_stock={product.id: before})
        return product

    async def adjust_stock(self, req: AdjustStock, ctx: CallContext) -> Product:
        """Add ``delta`` (may be negative) atomically; a result below 0 or above 10^9 is INVALID_ARGUMENT on delta."""
        require_admin(ctx)
        if req.delta == 0:
            raise invalid("delta", "must not be 0")
        async with self.db.transaction():
            pid, vid = await self._only_variant(req.id)
            current = await self.db.fetchval("SELECT stock_qty FROM catalog_variant WHERE id = $1 FOR UPDATE", vid)
            if current + req.delta < 0:
                raise invalid("delta", f"would take stock below zero (stock is {current})")
            if current + req.delta > STOCK_MAX:
                raise invalid("delta", f"would take stock above {STOCK_MAX} (stock is {current})")
            await self.db.execute("UPDATE catalog_variant SET stock_qty = stock_qty + $2, updated_at = now() "
                                  "WHERE id = $1", vid, req.delta)
            product = await self.product_now(pid)
            await self.changed_products([product], previous_stock={product.id: product.stock_qty - req.delta})
        return product
