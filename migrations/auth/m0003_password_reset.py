"""Auth: password reset by mail (one row per request; only the token's hash is kept)."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-02T00:40:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "auth: password reset requests"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "auth", DESCRIPTION, sql("""
        -- A request for an unknown email is recorded too (user_id NULL): both answers do the same work.
        -- token_hash is set when the mail is sent (the token itself never waits in the outbox).
        CREATE TABLE IF NOT EXISTS auth_password_reset (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id UUID REFERENCES auth_user (id) ON DELETE CASCADE,
            token_hash TEXT UNIQUE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ
        );
        CREATE INDEX IF NOT EXISTS auth_password_reset_user ON auth_password_reset (user_id);
        CREATE INDEX IF NOT EXISTS auth_password_reset_expires ON auth_password_reset (expires_at);
    """))
