"""Carts (one per user), cart lines, orders and their items.

No foreign keys to other plugins' tables: products and users are referenced by id.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T13:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "carts and orders"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "orders", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS orders_cart (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id TEXT NOT NULL UNIQUE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS orders_cart_item (
            cart_id UUID NOT NULL REFERENCES orders_cart (id) ON DELETE CASCADE,
            product_id TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty BETWEEN 1 AND 999),
            added_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (cart_id, product_id)
        );
        CREATE TABLE IF NOT EXISTS orders_order (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'refunded')),
            total_minor BIGINT NOT NULL CHECK (total_minor >= 0),
            currency CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
            payment_method TEXT NOT NULL CHECK (payment_method IN ('wallet', 'card')),
            wallet_transaction_id TEXT,
            card_brand TEXT,
            card_last4 TEXT CHECK (card_last4 IS NULL OR card_last4 ~ '^[0-9]{4}$'),
            charge_id TEXT,
            refund_id TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            paid_at TIMESTAMPTZ,
            cancelled_at TIMESTAMPTZ,
            -- a paid (or later) order paid by card always names its charge, unless it was free
            CHECK (status = 'pending' OR payment_method <> 'card' OR total_minor = 0 OR charge_id IS NOT NULL)
        );
        CREATE INDEX IF NOT EXISTS orders_order_user_recent ON orders_order (user_id, created_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS orders_order_recent ON orders_order (created_at DESC, id DESC);
        CREATE TABLE IF NOT EXISTS orders_order_item (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            order_id UUID NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            product_id TEXT NOT NULL,
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            qty INTEGER NOT NULL CHECK (qty BETWEEN 1 AND 999),
            unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
            currency CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
            line_total_minor BIGINT NOT NULL CHECK (line_total_minor = unit_price_minor * qty),
            original_unit_price_minor BIGINT CHECK (original_unit_price_minor >= 0),
            original_currency CHAR(3),
            CHECK ((original_unit_price_minor IS NULL) = (original_currency IS NULL)),
            UNIQUE (order_id, product_id)
        );
        CREATE INDEX IF NOT EXISTS orders_order_item_order ON orders_order_item (order_id, position);
    """))
