"""Piccolo tables describing the catalog schema (migrations/catalog/ is the source of truth).

The servicer uses raw SQL through ``kernel.storage.db.Database`` for its hot paths (row
locks, unnest bulk writes, full-text search); these classes describe the schema
exactly (tests/test_tables.py compares them with the migrated database).
"""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, BigInt, Bytea, ForeignKey, Integer, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from kernel.storage.columns import TSVector


class Category(Table, tablename="catalog_category"):
    id = UUID(primary_key=True)
    slug = Text(unique=True)
    name = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Product(Table, tablename="catalog_product"):
    id = UUID(primary_key=True)
    category = ForeignKey(Category, db_column_name="category_id", null=False, on_delete=OnDelete.restrict)
    slug = Text(unique=True)
    name = Text()
    description = Text(default="")
    price_minor = BigInt()  # the lowest variant price
    currency = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    search = TSVector(generated=True, null=True)  # weighted name + description, computed by PostgreSQL


class Variant(Table, tablename="catalog_variant"):
    id = UUID(primary_key=True)
    product = ForeignKey(Product, db_column_name="product_id", null=False, on_delete=OnDelete.cascade)
    sku = Text(unique=True)
    options = JSONB(default="{}")
    price_minor = BigInt()
    currency = Text()
    stock_qty = BigInt(default=0)
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Image(Table, tablename="catalog_image"):
    """A product image (media.py); its files are MediaBlob rows, found by content address."""

    id = UUID(primary_key=True)
    product = ForeignKey(Product, db_column_name="product_id", null=False, on_delete=OnDelete.cascade)
    key = Text()
    content_type = Text()
    alt = Text(default="")
    width = Integer()
    height = Integer()
    renditions = JSONB(default="[]")
    rendition_keys = Array(base_column=Text(), default=list)
    position = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class MediaBlob(Table, tablename="catalog_media_blob"):
    """One stored file (PostgresMediaStore): ``<sha256>.<ext>`` -> bytes."""

    key = Text(primary_key=True)
    content_type = Text()
    data = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


TABLES = [Category, Product, Variant, Image, MediaBlob]
