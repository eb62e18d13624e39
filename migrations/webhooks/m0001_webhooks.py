"""Webhook endpoints, one delivery per (endpoint, event), and every attempt's log."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:00:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "webhook endpoints and deliveries"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "webhooks", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS webhooks_endpoint (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            url TEXT NOT NULL CHECK (length(url) <= 2048),
            events TEXT[] NOT NULL,
            secret TEXT NOT NULL,
            active BOOLEAN NOT NULL DEFAULT true,
            failing_since TIMESTAMPTZ,
            disabled_at TIMESTAMPTZ,
            disabled_reason TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            deleted_at TIMESTAMPTZ
        );
        CREATE TABLE IF NOT EXISTS webhooks_delivery (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            endpoint_id UUID NOT NULL REFERENCES webhooks_endpoint (id) ON DELETE CASCADE,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            body BYTEA NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
            attempts INT NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at TIMESTAMPTZ,
            UNIQUE (endpoint_id, event_id, event_type)
        );
        CREATE INDEX IF NOT EXISTS webhooks_delivery_due ON webhooks_delivery (next_attempt_at)
            WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS webhooks_delivery_endpoint ON webhooks_delivery (endpoint_id, created_at DESC);
        CREATE TABLE IF NOT EXISTS webhooks_attempt (
            id BIGSERIAL PRIMARY KEY,
            delivery_id UUID NOT NULL REFERENCES webhooks_delivery (id) ON DELETE CASCADE,
            attempted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            status_code INT,
            duration_ms INT NOT NULL,
            error TEXT,
            response_excerpt TEXT,
            manual BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX IF NOT EXISTS webhooks_attempt_delivery ON webhooks_attempt (delivery_id, id);
    """))
