"""Orders: a card refund the provider has not confirmed yet is retried after ``retry_at``.

The admin refund reserves the amount on the order and writes the refund row (the
refund intent) in one transaction; ``payment_refund_id`` stays NULL until payments
answers. A process that dies in between leaves the row with ``retry_at`` passed: the
orders recovery job asks payments again by the same reference (idempotent there and at
the provider), so the money goes back exactly once.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T07:30:00:000005"
VERSION = "1.38.0"
DESCRIPTION = "order refund recovery"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "orders", DESCRIPTION, sql("""
        ALTER TABLE orders_refund ADD COLUMN IF NOT EXISTS retry_at TIMESTAMPTZ;
        CREATE INDEX IF NOT EXISTS orders_refund_pending ON orders_refund (retry_at)
            WHERE payment_refund_id IS NULL;
    """))
