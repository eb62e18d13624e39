"""Catalog tables: categories and products, with full-text search and the indexes the API's queries use."""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T12:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "catalog categories and products"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "catalog", DESCRIPTION, sql(r"""
        CREATE TABLE IF NOT EXISTS catalog_category (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT catalog_category_slug_key UNIQUE (slug),
            CONSTRAINT catalog_category_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
            CONSTRAINT catalog_category_name_present CHECK (length(btrim(name)) > 0 AND length(name) <= 200)
        );

        CREATE TABLE IF NOT EXISTS catalog_product (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            -- Same plugin, so a real foreign key; RESTRICT backs CATEGORY_NOT_EMPTY.
            category_id UUID NOT NULL REFERENCES catalog_category (id) ON DELETE RESTRICT,
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            price_minor BIGINT NOT NULL,
            currency TEXT NOT NULL,
            stock_qty BIGINT NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            -- Name weighs more than description in ts_rank.
            search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, name), 'A') ||
                setweight(to_tsvector('english'::regconfig, description), 'B')
            ) STORED,
            CONSTRAINT catalog_product_slug_key UNIQUE (slug),
            CONSTRAINT catalog_product_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
            CONSTRAINT catalog_product_name_present CHECK (length(btrim(name)) > 0 AND length(name) <= 200),
            CONSTRAINT catalog_product_price_nonnegative CHECK (price_minor >= 0),
            CONSTRAINT catalog_product_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
            CONSTRAINT catalog_product_stock_nonnegative CHECK (stock_qty >= 0)
        );

        -- Listing: newest first (the default and cached order), overall and per category.
        CREATE INDEX IF NOT EXISTS catalog_product_newest ON catalog_product (created_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS catalog_product_category_newest
            ON catalog_product (category_id, created_at DESC, id DESC);
        -- Other sorts.
        CREATE INDEX IF NOT EXISTS catalog_product_name ON catalog_product (name, id);
        CREATE INDEX IF NOT EXISTS catalog_product_category_name ON catalog_product (category_id, name, id);
        CREATE INDEX IF NOT EXISTS catalog_product_price ON catalog_product (price_minor, id);
        CREATE INDEX IF NOT EXISTS catalog_product_category_price ON catalog_product (category_id, price_minor, id);
        -- Search: full text, plus a prefix match on the name for short queries.
        CREATE INDEX IF NOT EXISTS catalog_product_search ON catalog_product USING GIN (search);
        CREATE INDEX IF NOT EXISTS catalog_product_name_prefix ON catalog_product (lower(name) text_pattern_ops);
        -- Categories are listed by name.
        CREATE INDEX IF NOT EXISTS catalog_category_name ON catalog_category (name, id);
    """))
