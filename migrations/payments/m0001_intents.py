"""Payments: intents (what a customer agreed to pay, and how far it got) and their refunds.

No card data here: a provider keeps the card; the intent keeps its brand, last 4
digits and the provider's reference.
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T05:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "payment intents and refunds"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "payments", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS payments_intent (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id TEXT NOT NULL,
            purpose TEXT NOT NULL,
            reference TEXT NOT NULL,
            notify TEXT NOT NULL,
            provider TEXT NOT NULL,
            status TEXT NOT NULL CONSTRAINT payments_intent_status CHECK (status IN (
                'requires_payment_method', 'processing', 'requires_action', 'requires_capture',
                'succeeded', 'canceled')),
            amount_minor BIGINT NOT NULL CONSTRAINT payments_intent_amount_positive CHECK (amount_minor > 0),
            currency CHAR(3) NOT NULL CONSTRAINT payments_intent_currency CHECK (currency ~ '^[A-Z]{3}$'),
            capture_method TEXT NOT NULL CONSTRAINT payments_intent_capture_method
                CHECK (capture_method IN ('automatic', 'manual')),
            client_secret_hash TEXT NOT NULL,
            provider_ref TEXT,
            brand TEXT,
            last4 TEXT CONSTRAINT payments_intent_last4 CHECK (last4 IS NULL OR last4 ~ '^[0-9]{4}$'),
            next_action JSONB,
            last_error TEXT,
            captured_minor BIGINT NOT NULL DEFAULT 0,
            refunded_minor BIGINT NOT NULL DEFAULT 0,
            expires_at TIMESTAMPTZ NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT payments_intent_refund_bound CHECK (refunded_minor BETWEEN 0 AND captured_minor),
            CONSTRAINT payments_intent_capture_bound CHECK (captured_minor BETWEEN 0 AND amount_minor),
            CONSTRAINT payments_intent_reference_key UNIQUE (purpose, reference)
        );
        -- The expiry job's scan: open intents by deadline.
        CREATE INDEX IF NOT EXISTS payments_intent_open ON payments_intent (expires_at)
            WHERE status IN ('requires_payment_method', 'processing', 'requires_action');
        CREATE TABLE IF NOT EXISTS payments_refund (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            intent_id UUID NOT NULL REFERENCES payments_intent (id) ON DELETE RESTRICT,
            amount_minor BIGINT NOT NULL CONSTRAINT payments_refund_amount_positive CHECK (amount_minor > 0),
            reference TEXT NOT NULL,
            provider_ref TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT payments_refund_reference_key UNIQUE (intent_id, reference)
        );
    """))
