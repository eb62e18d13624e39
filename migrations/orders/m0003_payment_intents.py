"""Orders paid through payment intents: status ``awaiting_payment`` while the intent is open.

The order names its intent (``payment_id``, ``payment_provider``); a card order that
is paid names it as ``charge_id`` too, so the existing "a paid card order names its
charge" rule keeps holding. An unpaid order that expires is ``cancelled`` with
``cancel_reason`` PAYMENT_EXPIRED.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T05:00:00:000003"
VERSION = "1.38.0"
DESCRIPTION = "orders awaiting payment through intents"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "orders", DESCRIPTION, sql("""
        ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS orders_order_status_check;
        ALTER TABLE orders_order ADD CONSTRAINT orders_order_status_check
            CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'cancelled', 'refunded'));
        ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS orders_order_check;
        ALTER TABLE orders_order ADD CONSTRAINT orders_order_check
            CHECK (status IN ('pending', 'awaiting_payment', 'cancelled') OR payment_method <> 'card'
                   OR total_minor = 0 OR charge_id IS NOT NULL);
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS payment_id TEXT;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS payment_provider TEXT;
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS cancel_reason TEXT;
        CREATE UNIQUE INDEX IF NOT EXISTS orders_order_payment ON orders_order (payment_id)
            WHERE payment_id IS NOT NULL;
    """))
