"""Reviews of buyers whose order was cancelled or refunded are hidden, not deleted.

Eligibility is now asked of the orders plugin (Orders.has_purchased) at review time
and again when an order is cancelled, so the event-fed eligibility table goes.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:30:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "hidden reviews; eligibility asked of orders"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "reviews", DESCRIPTION, sql("""
        ALTER TABLE product_reviews ADD COLUMN IF NOT EXISTS hidden_at TIMESTAMPTZ;
        CREATE INDEX IF NOT EXISTS product_reviews_user ON product_reviews (user_id);
        DROP TABLE IF EXISTS review_eligibility;
    """))
