"""Fulfilment: the order's price parts, shipping, guest email, fulfilments and refunds.

``subtotal_minor + shipping_minor + tax_minor = total_minor`` for every order
(existing orders: subtotal = total). ``updated_at`` is kept by a trigger so that
every transition, by any code path, moves it (the ERP sync polls it).
The status list keeps ``awaiting_payment`` (payment intents, m0003).
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T05:20:00:000004"
VERSION = "1.38.0"
DESCRIPTION = "order fulfilment, refunds, shipping and tax"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "orders", DESCRIPTION, sql("""
        ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS orders_order_status_check;
        ALTER TABLE orders_order ADD CONSTRAINT orders_order_status_check
            CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'fulfilled', 'cancelled', 'refunded',
                              'partially_refunded'));
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS subtotal_minor BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS shipping_minor BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS tax_minor BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS refunded_minor BIGINT NOT NULL DEFAULT 0;
        UPDATE orders_order SET subtotal_minor = total_minor WHERE subtotal_minor = 0;
        ALTER TABLE orders_order ADD CONSTRAINT orders_order_refunded_at_most_total
            CHECK (refunded_minor >= 0 AND refunded_minor <= total_minor);
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS email TEXT;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS shipping_address JSONB;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS shipping_method JSONB;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp();
        UPDATE orders_order SET updated_at = greatest(created_at, paid_at, cancelled_at);
        CREATE INDEX IF NOT EXISTS orders_order_updated ON orders_order (updated_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS orders_order_email ON orders_order (lower(email), updated_at DESC);

        CREATE OR REPLACE FUNCTION orders_order_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := clock_timestamp();
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS orders_order_touch ON orders_order;
        CREATE TRIGGER orders_order_touch BEFORE UPDATE ON orders_order
            FOR EACH ROW EXECUTE FUNCTION orders_order_touch();

        CREATE TABLE IF NOT EXISTS orders_fulfillment (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            order_id UUID NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
            carrier TEXT NOT NULL,
            tracking_number TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS orders_fulfillment_order ON orders_fulfillment (order_id, created_at);
        CREATE TABLE IF NOT EXISTS orders_refund (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            order_id UUID NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
            amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
            currency CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
            reason TEXT NOT NULL DEFAULT '',
            payment_refund_id TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS orders_refund_order ON orders_refund (order_id, created_at);
        -- The key signing guest order links when no secret_key is configured (development).
        CREATE TABLE IF NOT EXISTS orders_secret (
            name TEXT PRIMARY KEY,
            value BYTEA NOT NULL
        );
    """))
