"""The test provider keeps its refunds, one per (charge, reference): a retried refund is not paid twice."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T07:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "test payment provider refunds, idempotent per reference"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "testpay", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS testpay_refund (
            id TEXT PRIMARY KEY,
            charge_ref TEXT NOT NULL REFERENCES testpay_charge (ref) ON DELETE RESTRICT,
            reference TEXT NOT NULL,
            amount_minor BIGINT NOT NULL CONSTRAINT testpay_refund_amount CHECK (amount_minor > 0),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT testpay_refund_once UNIQUE (charge_ref, reference)
        );
    """))
