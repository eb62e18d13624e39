"""Catalog v2: product variants (options, SKU, price and stock per variant) and display-price conversion.

Data migration: every existing product gets one default variant whose id IS the
product's id, whose SKU is the product's slug, with no options and the product's
price and stock. (orders' own migration relies on that rule to give old cart lines
and order items their variant without reading catalog tables.) Stock then lives
only on variants: the product's ``stock_qty`` column is dropped; ``price_minor`` /
``currency`` stay on the product as the lowest variant price, kept by the servicer
under the product's row lock, because listing sorts and filters by them.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:30:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "catalog variants and display-price conversion"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "catalog", DESCRIPTION, sql(r"""
        CREATE TABLE IF NOT EXISTS catalog_variant (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            product_id UUID NOT NULL REFERENCES catalog_product (id) ON DELETE CASCADE,
            sku TEXT NOT NULL,
            -- {"size": "M", "colour": "Navy"}: option name -> value, both non-empty strings.
            options JSONB NOT NULL DEFAULT '{}'::jsonb,
            price_minor BIGINT NOT NULL,
            currency TEXT NOT NULL,
            stock_qty BIGINT NOT NULL DEFAULT 0,
            position INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT catalog_variant_sku_key UNIQUE (sku),
            -- Two variants of one product never have the same option values.
            CONSTRAINT catalog_variant_options_key UNIQUE (product_id, options),
            CONSTRAINT catalog_variant_sku_format CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$'),
            CONSTRAINT catalog_variant_options_object CHECK (jsonb_typeof(options) = 'object'),
            CONSTRAINT catalog_variant_price_nonnegative CHECK (price_minor >= 0),
            CONSTRAINT catalog_variant_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
            CONSTRAINT catalog_variant_stock_nonnegative CHECK (stock_qty >= 0)
        );
        CREATE INDEX IF NOT EXISTS catalog_variant_product ON catalog_variant (product_id, position, id);
        -- option.<name>=<value> filters (containment) and facet counts.
        CREATE INDEX IF NOT EXISTS catalog_variant_options ON catalog_variant USING GIN (options jsonb_path_ops);

        INSERT INTO catalog_variant (id, product_id, sku, price_minor, currency, stock_qty, created_at)
        SELECT p.id, p.id, p.slug, p.price_minor, p.currency, p.stock_qty, p.created_at FROM catalog_product p
        ON CONFLICT DO NOTHING;

        ALTER TABLE catalog_product DROP COLUMN IF EXISTS stock_qty;
        -- The currencies the catalog prices in (a skip scan over this answers "which rates are needed").
        CREATE INDEX IF NOT EXISTS catalog_product_currency ON catalog_product (currency);

        -- Exact conversion of a non-negative amount: round(amount * num / den), half to even, in
        -- integer arithmetic (numeric div/mod are exact). Mirrors plugins/wallet/money.py convert_exact
        -- with num/den = rate * 10^dst_exp / 10^src_exp; tests hold the two equal. One expression and
        -- no FROM, so the planner inlines it into the list queries that sort and filter by it.
        CREATE OR REPLACE FUNCTION catalog_convert_half_even(amount BIGINT, num NUMERIC, den NUMERIC)
        RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT (div(amount * num, den)
                    + CASE WHEN 2 * mod(amount * num, den) > den
                             OR (2 * mod(amount * num, den) = den AND mod(div(amount * num, den), 2) = 1)
                           THEN 1 ELSE 0 END)::bigint
        $$;
    """))
