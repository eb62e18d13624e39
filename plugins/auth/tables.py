"""Piccolo tables of the auth plugin (the schema itself is in migrations/auth/)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, Boolean, Bytea, Text, Timestamptz
from piccolo.table import Table


class AuthUser(Table, tablename="auth_user"):
    id = UUID(primary_key=True)
    email = Text()
    name = Text()
    password_hash = Text(null=True)
    roles = Array(base_column=Text())
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True)


class AuthClient(Table, tablename="auth_client"):
    client_id = Text(primary_key=True)
    name = Text()
    secret_hash = Text(null=True)
    confidential = Boolean()
    redirect_uris = Array(base_column=Text())
    scopes = Array(base_column=Text())
    created_at = Timestamptz()
    introspection = Boolean()


class AuthCode(Table, tablename="auth_code"):
    code_hash = Text(primary_key=True)
    client_id = Text()
    user_id = UUID()
    redirect_uri = Text()
    scope = Text()
    code_challenge = Text(null=True)
    nonce = Text(null=True)
    auth_time = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True)


class AuthRefreshToken(Table, tablename="auth_refresh_token"):
    token_hash = Text(primary_key=True)
    family_id = UUID()
    client_id = Text()
    user_id = UUID()
    scope = Text()
    code_hash = Text(null=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True)
    revoked_at = Timestamptz(null=True)


class AuthAccessToken(Table, tablename="auth_access_token"):
    jti = Text(primary_key=True)
    family_id = UUID(null=True)
    code_hash = Text(null=True)
    client_id = Text()
    subject = Text()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True)


class AuthSigningKey(Table, tablename="auth_signing_key"):
    kid = Text(primary_key=True)
    alg = Text()
    private_pem = Bytea()
    encrypted = Boolean()
    public_jwk = JSONB()
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True)


class AuthGrant(Table, tablename="auth_grant"):
    user_id = UUID()
    client_id = Text()
    scopes = Array(base_column=Text())
    created_at = Timestamptz()
    updated_at = Timestamptz()


TABLES = [AuthUser, AuthClient, AuthCode, AuthRefreshToken, AuthAccessToken, AuthSigningKey, AuthGrant]
