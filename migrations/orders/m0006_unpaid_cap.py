"""Orders: the client address of a checkout, and indexes to count unpaid orders quickly.

The unpaid-order caps (docs/security.md, "Stock hoarding") count a user's and a
guest client address's ``awaiting_payment`` orders at every card checkout; the
partial indexes hold only those rows, so the count stays a small index scan.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-02T01:00:00:000006"
VERSION = "1.38.0"
DESCRIPTION = "unpaid order caps"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "orders", DESCRIPTION, sql("""
        ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS client_ip TEXT;
        CREATE INDEX IF NOT EXISTS orders_order_unpaid_user ON orders_order (user_id)
            WHERE status = 'awaiting_payment';
        CREATE INDEX IF NOT EXISTS orders_order_unpaid_ip ON orders_order (client_ip)
            WHERE status = 'awaiting_payment' AND client_ip IS NOT NULL;
    """))
