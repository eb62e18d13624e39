"""Cart lines and order items name the variant bought (catalog v2), with its SKU and option values.

Existing rows get ``variant_id = product_id``: the catalog's own data migration gave
every pre-existing product a default variant with the product's id (see
plugins/catalog/contract.py, Variant), so no catalog table is read here. Old order
items take the product slug as SKU, which is the default variant's SKU.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:30:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "cart lines and order items per variant"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "orders", DESCRIPTION, sql("""
        ALTER TABLE orders_cart_item ADD COLUMN IF NOT EXISTS variant_id TEXT;
        UPDATE orders_cart_item SET variant_id = product_id WHERE variant_id IS NULL;
        ALTER TABLE orders_cart_item ALTER COLUMN variant_id SET NOT NULL;
        -- One line per variant (a product may now be in the cart in several sizes).
        ALTER TABLE orders_cart_item DROP CONSTRAINT IF EXISTS orders_cart_item_pkey;
        ALTER TABLE orders_cart_item ADD CONSTRAINT orders_cart_item_pkey PRIMARY KEY (cart_id, variant_id);
        CREATE INDEX IF NOT EXISTS orders_cart_item_product ON orders_cart_item (cart_id, product_id);

        ALTER TABLE orders_order_item ADD COLUMN IF NOT EXISTS variant_id TEXT;
        ALTER TABLE orders_order_item ADD COLUMN IF NOT EXISTS sku TEXT;
        ALTER TABLE orders_order_item ADD COLUMN IF NOT EXISTS options JSONB NOT NULL DEFAULT '{}'::jsonb;
        UPDATE orders_order_item SET variant_id = product_id, sku = slug WHERE variant_id IS NULL;
        ALTER TABLE orders_order_item ALTER COLUMN variant_id SET NOT NULL;
        ALTER TABLE orders_order_item ALTER COLUMN sku SET NOT NULL;
        ALTER TABLE orders_order_item ADD CONSTRAINT orders_order_item_options_object
            CHECK (jsonb_typeof(options) = 'object');
        ALTER TABLE orders_order_item DROP CONSTRAINT IF EXISTS orders_order_item_order_id_product_id_key;
        ALTER TABLE orders_order_item ADD CONSTRAINT orders_order_item_order_variant_key UNIQUE (order_id, variant_id);
    """))
