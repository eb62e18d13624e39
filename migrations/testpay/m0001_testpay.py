"""The test provider's own records: tokens (brand, last 4, the test outcome; never the number) and charges."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T05:00:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "test payment provider tokens and charges"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "testpay", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS testpay_token (
            token TEXT PRIMARY KEY,
            brand TEXT NOT NULL,
            last4 TEXT NOT NULL CONSTRAINT testpay_token_last4 CHECK (last4 ~ '^[0-9]{4}$'),
            outcome TEXT NOT NULL CONSTRAINT testpay_token_outcome
                CHECK (outcome IN ('succeed', 'decline', 'fail', 'requires_action')),
            intent_id TEXT,
            action_done BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS testpay_charge (
            ref TEXT PRIMARY KEY,
            token TEXT NOT NULL UNIQUE REFERENCES testpay_token (token) ON DELETE RESTRICT,
            amount_minor BIGINT NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL CONSTRAINT testpay_charge_status
                CHECK (status IN ('authorized', 'captured', 'voided')),
            refunded_minor BIGINT NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
    """))
