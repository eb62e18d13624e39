"""Piccolo tables describing the catalog schema (migrations/catalog/ is the source of truth).

The servicer uses raw SQL through ``kernel.db.Database`` for its hot paths (row
locks, unnest bulk writes, full-text search); these classes let Piccolo tooling
see the schema. The generated ``search`` tsvector column has no Piccolo type and
is omitted here.
"""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Category(Table, tablename="catalog_category"):
    id = UUID(primary_key=True)
    slug = Varchar(length=100, unique=True)
    name = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Product(Table, tablename="catalog_product"):
    id = UUID(primary_key=True)
    category = ForeignKey(Category, db_column_name="category_id")
    slug = Varchar(length=100, unique=True)
    name = Varchar(length=200)
    description = Text(default="")
    price_minor = BigInt()  # the lowest variant price
    currency = Varchar(length=3)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Variant(Table, tablename="catalog_variant"):
    id = UUID(primary_key=True)
    product = ForeignKey(Product, db_column_name="product_id")
    sku = Text(unique=True)
    options = JSONB(default="{}")
    price_minor = BigInt()
    currency = Varchar(length=3)
    stock_qty = BigInt(default=0)
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


TABLES = [Category, Product, Variant]
