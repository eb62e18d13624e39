"""Piccolo tables of the auth plugin (the schema itself is in migrations/auth/)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, Boolean, Bytea, ForeignKey, Text, Timestamptz
from piccolo.table import Table


class AuthUser(Table, tablename="auth_user"):
    id = UUID(primary_key=True)
    email = Text()
    name = Text()
    password_hash = Text(null=True, default=None)
    roles = Array(base_column=Text())
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)


class AuthClient(Table, tablename="auth_client"):
    client_id = Text(primary_key=True)
    name = Text()
    secret_hash = Text(null=True, default=None)
    confidential = Boolean()
    redirect_uris = Array(base_column=Text())
    scopes = Array(base_column=Text())
    created_at = Timestamptz()
    introspection = Boolean(default=False)


class AuthExternalIdentity(Table, tablename="auth_external_identity"):
    # The primary key is (issuer, subject); Piccolo names one column.
    issuer = Text(primary_key=True)
    subject = Text()
    user_id = ForeignKey(AuthUser, null=False)
    created_at = Timestamptz()


class AuthCode(Table, tablename="auth_code"):
    code_hash = Text(primary_key=True)
    client_id = ForeignKey(AuthClient, null=False)
    user_id = ForeignKey(AuthUser, null=False)
    redirect_uri = Text()
    scope = Text()
    code_challenge = Text(null=True, default=None)
    nonce = Text(null=True, default=None)
    auth_time = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class AuthRefreshToken(Table, tablename="auth_refresh_token"):
    token_hash = Text(primary_key=True)
    family_id = UUID()
    client_id = ForeignKey(AuthClient, null=False)
    user_id = ForeignKey(AuthUser, null=False)
    scope = Text()
    code_hash = Text(null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class AuthAccessToken(Table, tablename="auth_access_token"):
    jti = Text(primary_key=True)
    family_id = UUID(null=True, default=None)
    code_hash = Text(null=True, default=None)
    client_id = Text()
    subject = Text()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class AuthSigningKey(Table, tablename="auth_signing_key"):
    kid = Text(primary_key=True)
    alg = Text()
    private_pem = Bytea()
    encrypted = Boolean()
    public_jwk = JSONB()
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)


class AuthGrant(Table, tablename="auth_grant"):
    # The primary key is (user_id, client_id); Piccolo names one column.
    user_id = ForeignKey(AuthUser, null=False, primary_key=True)
    client_id = ForeignKey(AuthClient, null=False)
    scopes = Array(base_column=Text())
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AuthSecret(Table, tablename="auth_secret"):
    name = Text(primary_key=True)
    value = Bytea()
    created_at = Timestamptz()


class AuthPasswordReset(Table, tablename="auth_password_reset"):
    id = UUID(primary_key=True)
    user_id = ForeignKey(AuthUser, null=True, default=None)  # None: the email was unknown
    token_hash = Text(null=True, default=None, unique=True)  # set when the mail is sent
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


TABLES = [AuthUser, AuthExternalIdentity, AuthClient, AuthCode, AuthRefreshToken, AuthAccessToken, AuthSigningKey,
          AuthSecret, AuthGrant, AuthPasswordReset]
