"""The kernel's own table: stored responses for Idempotency-Key replays."""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T12:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "idempotency keys"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "kernel", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS shop_idempotency (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            method TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            response BYTEA,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        );
        CREATE INDEX IF NOT EXISTS shop_idempotency_created ON shop_idempotency (created_at);
    """))
