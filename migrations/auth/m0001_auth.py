"""Auth plugin schema: users, OAuth clients, codes, refresh/access tokens, signing keys."""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T12:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "auth: users, clients, codes, tokens, signing keys"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "auth", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS auth_user (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
            name TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 200),
            password_hash TEXT,
            roles TEXT[] NOT NULL DEFAULT '{}',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX IF NOT EXISTS auth_user_email_lower ON auth_user (lower(email));

        CREATE TABLE IF NOT EXISTS auth_external_identity (
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id UUID NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (issuer, subject)
        );

        CREATE TABLE IF NOT EXISTS auth_client (
            client_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_hash TEXT,
            confidential BOOLEAN NOT NULL DEFAULT false,
            redirect_uris TEXT[] NOT NULL DEFAULT '{}',
            scopes TEXT[] NOT NULL DEFAULT '{}',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CHECK (NOT confidential OR secret_hash IS NOT NULL)
        );

        CREATE TABLE IF NOT EXISTS auth_code (
            code_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES auth_client (client_id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
            redirect_uri TEXT NOT NULL,
            scope TEXT NOT NULL,
            code_challenge TEXT,
            nonce TEXT,
            auth_time TIMESTAMPTZ NOT NULL DEFAULT now(),
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS auth_code_expires ON auth_code (expires_at);

        -- A family is every token descending from one grant (one code, or one login).
        CREATE TABLE IF NOT EXISTS auth_refresh_token (
            token_hash TEXT PRIMARY KEY,
            family_id UUID NOT NULL,
            client_id TEXT NOT NULL REFERENCES auth_client (client_id) ON DELETE CASCADE,
            user_id UUID NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
            scope TEXT NOT NULL,
            code_hash TEXT,
            expires_at TIMESTAMPTZ NOT NULL,
            used_at TIMESTAMPTZ,
            revoked_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS auth_refresh_family ON auth_refresh_token (family_id);

        -- Issued access tokens (by jti) so a grant's tokens can be revoked; also the
        -- revocation list's durable copy when Redis is down.
        CREATE TABLE IF NOT EXISTS auth_access_token (
            jti TEXT PRIMARY KEY,
            family_id UUID,
            code_hash TEXT,
            client_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            revoked_at TIMESTAMPTZ
        );
        CREATE INDEX IF NOT EXISTS auth_access_family ON auth_access_token (family_id);
        CREATE INDEX IF NOT EXISTS auth_access_code ON auth_access_token (code_hash);
        CREATE INDEX IF NOT EXISTS auth_access_expires ON auth_access_token (expires_at);

        CREATE TABLE IF NOT EXISTS auth_signing_key (
            kid TEXT PRIMARY KEY,
            alg TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
            private_pem BYTEA NOT NULL,
            encrypted BOOLEAN NOT NULL,
            public_jwk JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            retired_at TIMESTAMPTZ
        );

        -- Server-side secrets shared by every process (e.g. the form-token HMAC key).
        CREATE TABLE IF NOT EXISTS auth_secret (
            name TEXT PRIMARY KEY,
            value BYTEA NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
    """))
