"""Auth: remembered consents (grants), disabled users, clients allowed to introspect any token."""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T04:20:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "auth: grants, disabled users, introspection right"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "auth", DESCRIPTION, sql("""
        ALTER TABLE auth_user ADD COLUMN IF NOT EXISTS disabled_at TIMESTAMPTZ;
        ALTER TABLE auth_client ADD COLUMN IF NOT EXISTS introspection BOOLEAN NOT NULL DEFAULT false;

        -- What a user allowed a (third-party) client to do: the consent screen is skipped
        -- while a request asks for no more than this; deleting the row revokes it.
        CREATE TABLE IF NOT EXISTS auth_grant (
            user_id UUID NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
            client_id TEXT NOT NULL REFERENCES auth_client (client_id) ON DELETE CASCADE,
            scopes TEXT[] NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, client_id)
        );
        CREATE INDEX IF NOT EXISTS auth_access_token_subject ON auth_access_token (subject);
    """))
