"""Admin writes on variants. Lock order everywhere: the product row, then its variant rows.

Reservations (service.py) lock only variant rows, in id order, and never a product
row, so admin writes and checkouts cannot deadlock. The product's ``price_minor`` /
``currency`` (the lowest variant price) are recomputed under the product's lock by
every write that changes a variant's price or the set of variants.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson

from kernel.core import iso4217
from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, invalid, not_found

from . import rows
from .admin import require_admin
from .contract import (
    MAX_OPTIONS,
    MAX_VARIANTS,
    CreateVariant,
    DeleteById,
    Deleted,
    SetVariantPrice,
    SetVariantStock,
    UpdateVariant,
    Variant,
)
from .rows import VARIANT_COLS
from .writer import CatalogWriter

NAME_MAX, VALUE_MAX = 50, 100


def sku_taken(field: str = "sku") -> BusError:
    return BusError(Status.ALREADY_EXISTS, "a variant with this SKU already exists",
                    field_errors=[(field, "is already used as a SKU")])


def _options_taken() -> BusError:
    return BusError(Status.ALREADY_EXISTS, "the product already has a variant with these option values",
                    field_errors=[("options", "another variant of the product has exactly these values")])


def check_options(raw: Any) -> dict[str, str]:
    """``{"size": "M"}``: at most MAX_OPTIONS names; names and values non-empty trimmed strings."""
    if not isinstance(raw, dict):
        raise invalid("options", 'must be an object of option name to value, e.g. {"size": "M"}')
    if len(raw) > MAX_OPTIONS:
        raise invalid("options", f"must have at most {MAX_OPTIONS} options")
    out: dict[str, str] = {}
    for name, value in raw.items():
        where = f"options.{name}"[:80]
        if not isinstance(value, str):
            raise invalid(where, "must be a string")
        n, v = name.strip(), value.strip()
        if not n or len(n) > NAME_MAX or "\x00" in n:
            raise invalid(where, f"option names are 1 to {NAME_MAX} characters")
        if not v or len(v) > VALUE_MAX or "\x00" in v:
            raise invalid(where, f"option values are 1 to {VALUE_MAX} characters")
        if n in out:
            raise invalid(where, "names an option twice")
        out[n] = v
    return out


def _currency(code: str) -> None:
    if not iso4217.is_active(code):
        raise invalid("currency", "is not an active ISO 4217 currency code")


class VariantsMixin(CatalogWriter):
    """Variant methods of CatalogServicer."""

    async def _lock_product(self, pid: uuid.UUID, raw: str) -> None:
        if await self.db.fetchval("SELECT 1 FROM catalog_product WHERE id = $1 FOR UPDATE", pid) is None:
            raise not_found(f"product {raw!r}")

    async def _lock_variant(self, raw: str) -> tuple[uuid.UUID, Any]:
        """Lock the variant's product, then the variant; (product id, variant row)."""
        vid = rows.parse_uuid(raw)
        pid = None if vid is None else await self.db.fetchval("SELECT product_id FROM catalog_variant WHERE id = $1",
                                                              vid)
        if pid is None:
            raise not_found(f"variant {raw!r}")
        await self._lock_product(pid, str(pid))
        row = await self.db.fetchrow(f"SELECT {VARIANT_COLS} FROM catalog_variant v WHERE v.id = $1 FOR UPDATE", vid)
        if row is None or row["product_id"] != str(pid):  # deleted (or, impossibly, moved) meanwhile
            raise not_found(f"variant {raw!r}")
        return pid, row

    async def _check_currency(self, pid: uuid.UUID, currency: str, except_id: Any = None) -> None:
        other = await self.db.fetchval(
            "SELECT currency FROM catalog_variant WHERE product_id = $1 AND id IS DISTINCT FROM $2 "
            "AND currency <> $3 LIMIT 1", pid, except_id, currency)
        if other is not None:
            raise invalid("currency", f"every variant of a product is priced in one currency; this product's is {other}")

    async def _variant_now(self, vid: Any) -> Variant:
        row = await self.db.fetchrow(f"SELECT {VARIANT_COLS} FROM catalog_variant v WHERE v.id = $1", vid)
        return rows.variant(row)

    # ---------------------------------------------------------------- methods

    async def create_variant(self, req: CreateVariant, ctx: CallContext) -> Variant:
        require_admin(ctx)
        _currency(req.currency)
        options = check_options(req.options)
        pid = rows.parse_uuid(req.product_id)
        if pid is None:
            raise not_found(f"product {req.product_id!r}")
        try:
            async with self.db.transaction():
                await self._lock_product(pid, req.product_id)
                await self._check_currency(pid, req.currency)
                counted = await self.db.fetchrow(
                    "SELECT count(*), coalesce(max(position), 0) FROM catalog_variant WHERE product_id = $1", pid)
                count, last = (0, 0) if counted is None else counted  # an aggregate: always one row
                if count >= MAX_VARIANTS:
                    raise BusError(Status.FAILED_PRECONDITION, f"A product has at most {MAX_VARIANTS} variants.",
                                   reason="TOO_MANY_VARIANTS")
                vid = await self.db.fetchval(
                    "INSERT INTO catalog_variant (product_id, sku, options, price_minor, currency, stock_qty, position) "
                    "VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) RETURNING id",
                    pid, req.sku, orjson.dumps(options).decode(), req.price_minor, req.currency, req.stock_qty,
                    last + 1)
                product = await self.refresh_price(pid)
                await self.changed_products([product])
        except asyncpg.UniqueViolationError as exc:
            raise (_options_taken() if exc.constraint_name == "catalog_variant_options_key" else sku_taken()) from None
        return next(v for v in product.variants if v.id == str(vid))

    async def update_variant(self, req: UpdateVariant, ctx: CallContext) -> Variant:
        require_admin(ctx)
        options = None if req.options is None else check_options(req.options)
        try:
            async with self.db.transaction():
                pid, row = await self._lock_variant(req.id)
                sets, args = [], [row["id"]]
                if req.sku is not None and req.sku != row["sku"]:
                    args.append(req.sku)
                    sets.append(f"sku = ${len(args)}")
                if options is not None and options != rows.options_of(row["options"]):
                    args.append(orjson.dumps(options).decode())
                    sets.append(f"options = ${len(args)}::jsonb")
                if not sets:
                    return rows.variant(row)
                await self.db.execute(f"UPDATE catalog_variant SET {', '.join(sets)}, updated_at = now() "
                                      "WHERE id = $1::uuid", *args)
                product = await self.product_now(pid)
                await self.changed_products([product])
        except asyncpg.UniqueViolationError as exc:
            raise (_options_taken() if exc.constraint_name == "catalog_variant_options_key" else sku_taken()) from None
        return next(v for v in product.variants if v.id == row["id"])

    async def delete_variant(self, req: DeleteById, ctx: CallContext) -> Deleted:
        """A product keeps at least one variant: deleting the last is LAST_VARIANT (delete the product instead)."""
        require_admin(ctx)
        async with self.db.transaction():
            pid, row = await self._lock_variant(req.id)
            if await self.db.fetchval("SELECT count(*) FROM catalog_variant WHERE product_id = $1", pid) <= 1:
                raise BusError(Status.FAILED_PRECONDITION,
                               "This is the product's only variant; delete the product instead.",
                               reason="LAST_VARIANT")
            await self.db.execute("DELETE FROM catalog_variant WHERE id = $1::uuid", row["id"])
            product = await self.refresh_price(pid)
            await self.changed_products([product])
        return Deleted(id=req.id, deleted=True)

    async def set_variant_price(self, req: SetVariantPrice, ctx: CallContext) -> Variant:
        require_admin(ctx)
        _currency(req.currency)
        async with self.db.transaction():
            pid, row = await self._lock_variant(req.id)
            await self._check_currency(pid, req.currency, except_id=uuid.UUID(row["id"]))
            await self.db.execute("UPDATE catalog_variant SET price_minor = $2, currency = $3, updated_at = now() "
                                  "WHERE id = $1::uuid", row["id"], req.price_minor, req.currency)
            product = await self.refresh_price(pid)
            await self.changed_products([product])
        return next(v for v in product.variants if v.id == row["id"])

    async def set_variant_stock(self, req: SetVariantStock, ctx: CallContext) -> Variant:
        require_admin(ctx)
        async with self.db.transaction():
            pid, row = await self._lock_variant(req.id)
            await self.db.execute("UPDATE catalog_variant SET stock_qty = $2, updated_at = now() WHERE id = $1::uuid",
                                  row["id"], req.stock_qty)
            product = await self.product_now(pid)
            await self.changed_products([product])
        return next(v for v in product.variants if v.id == row["id"])
