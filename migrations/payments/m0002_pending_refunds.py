"""Payments: a refund is recorded before the provider is called (``provider_ref`` NULL until it answers).

The row written with the reservation makes a retry (or the expiry job, after a crash)
finish that same refund by its reference instead of reserving the amount again.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T07:30:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "pending payment refunds"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "payments", DESCRIPTION, sql("""
        ALTER TABLE payments_refund ALTER COLUMN provider_ref DROP NOT NULL;
        ALTER TABLE payments_refund ADD COLUMN IF NOT EXISTS retry_at TIMESTAMPTZ;
        -- The expiry job's scan: refunds the provider has not confirmed yet.
        CREATE INDEX IF NOT EXISTS payments_refund_pending ON payments_refund (retry_at)
            WHERE provider_ref IS NULL;
    """))
