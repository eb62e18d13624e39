"""The authorization server's logic, free of HTTP: clients, codes, tokens, revocation.

The HTTP endpoints (oauth.py) and the storefront session (session.py) both call
this directly, so the session's code exchange runs the very same checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import jwt

from kernel.core.scopes import ScopeRegistry
from kernel.engine.config import Settings
from kernel.storage.db import Database
from kernel.storage.redis_link import RedisDown, RedisLink

from . import scopes as sc
from .config import AuthConfig
from .keys import KeyStore

log = logging.getLogger("shop.plugins.auth")

WEB_CLIENT = "web-client"
_VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
ACCESS_TYP = "at+jwt"  # RFC 9068: an ID token cannot be replayed as an access token


class OAuthError(Exception):
    """An RFC 6749 error: ``error`` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class InvalidToken(Exception):
    pass


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def valid_verifier(v: str) -> bool:
    return 43 <= len(v) <= 128 and all(c in _VERIFIER_CHARS for c in v)


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    confidential: bool
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    secret_hash: str | None
    introspection: bool = False  # may introspect any token, not only its own

    @property
    def first_party(self) -> bool:
        """The storefront's own client: no consent screen (the shop asks for itself)."""
        return self.client_id == WEB_CLIENT


REVOCATION_RESYNC = 30.0  # seconds
# How long a process trusts its last look at a user's state (active, disabled, deleted).
# A change is also announced over Redis pub/sub so every instance forgets it at once;
# this bound only matters when that message is lost (Redis away).
USER_STATE_TTL = 5.0  # seconds
USER_STATE_MAX = 10_000
USER_CHANNEL = "auth-users"


class Authority:
    def __init__(self, db: Database, redis: RedisLink | None, settings: Settings, config: AuthConfig,
                 scopes: ScopeRegistry) -> None:
        self.db = db
        self.scopes = scopes
        self.redis = redis
        self.settings = settings
        self.config = config
        self.issuer = settings.issuer
        self.audience = config.audience or settings.issuer
        self.keys = KeyStore(db, settings.secret_key, config.algorithm, config.access_token_ttl)
        self.form_key = b""
        # Set when a revocation could not reach Redis: the durable list in PostgreSQL
        # is copied to Redis again before Redis is trusted for revocation checks.
        self._resync_revocations = True
        # Other processes may have revoked tokens while Redis was away without this one
        # noticing the outage, so the copy is also refreshed every REVOCATION_RESYNC seconds.
        self._last_resync = 0.0
        self._user_state: dict[str, tuple[bool, float]] = {}  # user id -> (active, checked at)
        if redis is not None:
            redis.subscribe(USER_CHANNEL, self._on_user_changed)

    # ------------------------------------------------------------------ startup

    async def start(self) -> None:
        await self.keys.start()
        await self.ensure_web_client()
        self.form_key = await self._form_key()

    async def _form_key(self) -> bytes:
        if self.settings.secret_key:
            return hashlib.sha256(b"shop-auth-form:" + self.settings.secret_key.encode()).digest()
        await self.db.execute("INSERT INTO auth_secret (name, value) VALUES ('form_key', $1) ON CONFLICT DO NOTHING",
                              secrets.token_bytes(32))
        return bytes(await self.db.fetchval("SELECT value FROM auth_secret WHERE name = 'form_key'"))

    async def ensure_web_client(self) -> None:
        """The storefront's public client, with this issuer's callback registered (idempotent)."""
        uri = f"{self.issuer}/auth/callback"
        await self.db.execute(
            "INSERT INTO auth_client (client_id, name, confidential, redirect_uris, scopes) "
            "VALUES ($1, 'Storefront', false, ARRAY[$2], $3) ON CONFLICT (client_id) DO UPDATE SET "
            "redirect_uris = CASE WHEN $2 = ANY(auth_client.redirect_uris) THEN auth_client.redirect_uris "
            "ELSE auth_client.redirect_uris || $2 END",
            WEB_CLIENT, uri, list(self.scopes.names()))

    # ------------------------------------------------------------------ clients

    async def get_client(self, client_id: str) -> Client | None:
        if not client_id or len(client_id) > 100:
            return None
        r = await self.db.fetchrow("SELECT * FROM auth_client WHERE client_id = $1", client_id)
        if r is None:
            return None
        # The storefront may ask for whatever the enabled plugins declare (admin only for admins).
        allowed = self.scopes.names() if r["client_id"] == WEB_CLIENT else tuple(r["scopes"])
        return Client(r["client_id"], r["name"], r["confidential"], tuple(r["redirect_uris"]), allowed,
                      r["secret_hash"], r["introspection"])

    async def create_client(self, name: str, redirect_uris: list[str], scopes: list[str],
                            confidential: bool, introspection: bool = False) -> tuple[str, str | None]:
        client_id = f"c_{secrets.token_urlsafe(12)}"
        secret = secrets.token_urlsafe(32) if confidential else None
        await self.db.execute(
            "INSERT INTO auth_client (client_id, name, secret_hash, confidential, redirect_uris, scopes, "
            "introspection) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            client_id, name, sha256(secret) if secret else None, confidential, redirect_uris, scopes, introspection)
        return client_id, secret

    async def list_clients(self) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            "SELECT client_id, name, confidential, redirect_uris, scopes, introspection, created_at "
            "FROM auth_client ORDER BY created_at, client_id")
        return [{"client_id": r["client_id"], "name": r["name"], "confidential": r["confidential"],
                 "redirect_uris": list(r["redirect_uris"]), "scopes": list(r["scopes"]),
                 "introspection": r["introspection"], "created_at": r["created_at"].isoformat()} for r in rows]

    async def delete_client(self, client_id: str) -> bool:
        """Remove a client and everything it holds; its access tokens stop working now."""
        if client_id == WEB_CLIENT:
            raise OAuthError("invalid_request", "web-client is the storefront's own client and cannot be deleted.")
        await self._revoke_access("client_id = $1", client_id)
        status = await self.db.execute("DELETE FROM auth_client WHERE client_id = $1", client_id)
        return status.endswith(" 1")

    async def rotate_secret(self, client_id: str) -> str | None:
        """A new secret for a confidential client (the old one stops working); None if no such client."""
        secret = secrets.token_urlsafe(32)
        row = await self.db.fetchrow("UPDATE auth_client SET secret_hash = $2 WHERE client_id = $1 AND confidential "
                                     "RETURNING 1", client_id, sha256(secret))
        return secret if row is not None else None

    async def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """A client from its credentials; public clients send only their id."""
        client = await self.get_client(client_id or "")
        if client is None:
            raise OAuthError("invalid_client", "Unknown client or bad credentials.", 401)
        if client.confidential:
            # sha256 of a 256-bit random secret: no need for a slow hash; compare in constant time.
            given = sha256(secret or "")
            if secret is None or not hmac.compare_digest(given, client.secret_hash or ""):
                raise OAuthError("invalid_client", "Unknown client or bad credentials.", 401)
        elif secret:
            raise OAuthError("invalid_client", "This public client has no secret.", 401)
        return client

    # ------------------------------------------------------------------ codes

    async def issue_code(self, client: Client, user_id: str, redirect_uri: str, scope: list[str],
                         code_challenge: str | None, nonce: str | None) -> str:
        code = secrets.token_urlsafe(32)
        await self.db.execute(
            "INSERT INTO auth_code (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, nonce, "
            "expires_at) VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, now() + make_interval(secs => $8))",
            sha256(code), client.client_id, user_id, redirect_uri, sc.join(scope), code_challenge, nonce,
            float(self.config.code_ttl))
        return code

    async def exchange_code(self, client: Client, code: str, redirect_uri: str | None,
                            verifier: str | None) -> dict[str, Any]:
        code_hash = sha256(code)
        # State changes (spending the code, revoking) must commit even when the answer is an
        # error, so errors are raised only after the transaction.
        failure: OAuthError | None = None
        result: dict[str, Any] = {}
        async with self.db.transaction():
            row = await self.db.fetchrow(
                "SELECT *, user_id::text AS uid, expires_at < now() AS expired FROM auth_code "
                "WHERE code_hash = $1 FOR UPDATE", code_hash)
            if row is None:
                raise OAuthError("invalid_grant", "The authorization code is invalid.")
            if row["used_at"] is not None:
                # RFC 6749 §4.1.2: a replayed code revokes what it was exchanged for.
                await self._revoke_code_tokens(code_hash)
                log.warning("authorization_code_reused", extra={"client_id": client.client_id})
                failure = OAuthError("invalid_grant", "The authorization code was already used.")
            else:
                # Spent now whatever happens next: a code gets one try (no verifier guessing).
                await self.db.execute("UPDATE auth_code SET used_at = now() WHERE code_hash = $1", code_hash)
                failure = self._check_code(row, client, redirect_uri, verifier)
                user = await self._user(row["uid"]) if failure is None else None
                if failure is None and user is None:
                    failure = OAuthError("invalid_grant", "The user no longer exists.")
                if failure is None and user is not None:
                    granted = sc.for_user(row["scope"].split(), user["roles"], self.scopes)
                    result = await self._issue(client, user, granted, family_id=str(uuid.uuid4()),
                                               code_hash=code_hash, nonce=row["nonce"],
                                               auth_time=row["auth_time"].timestamp(), refresh=True)
        if failure is not None:
            raise failure
        return result

    @staticmethod
    def _check_code(row: Any, client: Client, redirect_uri: str | None, verifier: str | None) -> OAuthError | None:
        if row["expired"]:
            return OAuthError("invalid_grant", "The authorization code has expired.")
        if row["client_id"] != client.client_id:
            return OAuthError("invalid_grant", "The authorization code was issued to another client.")
        if redirect_uri is None or not hmac.compare_digest(redirect_uri.encode(), row["redirect_uri"].encode()):
            return OAuthError("invalid_grant", "redirect_uri does not match the authorization request.")
        challenge = row["code_challenge"]
        if challenge is not None:
            if not verifier or not valid_verifier(verifier):
                return OAuthError("invalid_grant", "A valid code_verifier is required.")
            if not hmac.compare_digest(s256(verifier), challenge):
                return OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
        elif verifier:
            return OAuthError("invalid_grant", "code_verifier sent for a code issued without a challenge.")
        return None

    async def _user(self, user_id: str) -> Any:
        """An active (not disabled) user; None otherwise."""
        return await self.db.fetchrow(
            "SELECT id::text AS id, email, name, roles FROM auth_user WHERE id = $1::uuid AND disabled_at IS NULL",
            user_id)

    # ------------------------------------------------------------------ refresh

    async def refresh(self, client: Client, token: str, scope: str | None) -> dict[str, Any]:
        token_hash = sha256(token)
        reused = False
        async with self.db.transaction():
            row = await self.db.fetchrow(
                "SELECT *, user_id::text AS uid, family_id::text AS fid, expires_at < now() AS expired "
                "FROM auth_refresh_token WHERE token_hash = $1 FOR UPDATE", token_hash)
            if row is None or row["client_id"] != client.client_id:
                raise OAuthError("invalid_grant", "The refresh token is invalid.")
            if row["revoked_at"] is not None:
                raise OAuthError("invalid_grant", "The refresh token was revoked.")
            if row["used_at"] is not None:
                # A spent token came back: someone holds a copy. Revoke the whole family (RFC 9700 §4.14.2).
                await self.revoke_family(row["fid"])
                log.warning("refresh_token_reused", extra={"client_id": client.client_id, "family": row["fid"]})
                reused = True
        if reused:  # raised after the commit, so the revocation sticks
            raise OAuthError("invalid_grant", "The refresh token was already used; the session is revoked.")
        async with self.db.transaction():
            row = await self.db.fetchrow(
                "SELECT *, user_id::text AS uid, family_id::text AS fid, expires_at < now() AS expired "
                "FROM auth_refresh_token WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL "
                "FOR UPDATE", token_hash)
            if row is None:  # lost a race with a concurrent use
                raise OAuthError("invalid_grant", "The refresh token is invalid.")
            if row["expired"]:
                raise OAuthError("invalid_grant", "The refresh token has expired.")
            granted = row["scope"].split()
            if scope is not None:
                wanted = sc.parse(scope, self.scopes)
                if wanted is None or not set(wanted) <= set(granted):
                    raise OAuthError("invalid_scope", "A refresh can only narrow the original scope.")
                granted = wanted
            await self.db.execute("UPDATE auth_refresh_token SET used_at = now() WHERE token_hash = $1", token_hash)
            user = await self._user(row["uid"])
            if user is None:
                raise OAuthError("invalid_grant", "The user no longer exists.")
            granted = sc.for_user(granted, user["roles"], self.scopes)  # a lost admin role takes effect now
            return await self._issue(client, user, granted, family_id=row["fid"], code_hash=row["code_hash"],
                                     nonce=None, auth_time=None, refresh=True, id_token=False)

    # ------------------------------------------------------------ client creds

    async def client_credentials(self, client: Client, scope: str | None) -> dict[str, Any]:
        if not client.confidential:
            raise OAuthError("unauthorized_client", "Only confidential clients may use client_credentials.")
        if scope is None:
            granted = [s for s in client.scopes if s != "openid"]
        else:
            wanted = sc.parse(scope, self.scopes, client.scopes)
            if wanted is None or not set(wanted) <= set(client.scopes):
                raise OAuthError("invalid_scope", "The client may not ask for that scope.")
            granted = wanted
        return await self._issue(client, None, granted, family_id=None, code_hash=None, nonce=None,
                                 auth_time=None, refresh=False, id_token=False)

    # ------------------------------------------------------------------ tokens

    async def _issue(self, client: Client, user: Any, granted: list[str], *, family_id: str | None,
                     code_hash: str | None, nonce: str | None, auth_time: float | None, refresh: bool,
                     id_token: bool = True) -> dict[str, Any]:
        key = await self.keys.signing_key()
        now = int(time.time())
        ttl = self.config.access_token_ttl
        jti = uuid.uuid4().hex
        subject = user["id"] if user is not None else client.client_id
        roles = list(user["roles"]) if user is not None else []
        claims = {"iss": self.issuer, "sub": subject, "aud": self.audience, "exp": now + ttl, "iat": now,
                  "nbf": now, "jti": jti, "scope": sc.join(granted), "roles": roles, "client_id": client.client_id}
        # Our own API reads these to build the caller without a database round trip.
        if user is not None and "email" in granted:
            claims["email"] = user["email"]
        if user is not None and "profile" in granted:
            claims["name"] = user["name"]
        access = jwt.encode(claims, key.signer(), algorithm=key.alg, headers={"kid": key.kid, "typ": ACCESS_TYP})
        await self.db.execute(
            "INSERT INTO auth_access_token (jti, family_id, code_hash, client_id, subject, expires_at) "
            "VALUES ($1, $2::uuid, $3, $4, $5, to_timestamp($6))",
            jti, family_id, code_hash, client.client_id, subject, float(now + ttl))
        out: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                               "scope": sc.join(granted)}
        if refresh and user is not None and family_id is not None:
            rt = secrets.token_urlsafe(32)
            await self.db.execute(
                "INSERT INTO auth_refresh_token (token_hash, family_id, client_id, user_id, scope, code_hash, "
                "expires_at) VALUES ($1, $2::uuid, $3, $4::uuid, $5, $6, now() + make_interval(secs => $7))",
                sha256(rt), family_id, client.client_id, user["id"], sc.join(granted), code_hash,
                float(self.config.refresh_token_ttl))
            out["refresh_token"] = rt
        if id_token and user is not None and "openid" in granted:
            idc: dict[str, Any] = {"iss": self.issuer, "sub": subject, "aud": client.client_id, "iat": now,
                                   "exp": now + self.config.id_token_ttl, "azp": client.client_id}
            if auth_time is not None:
                idc["auth_time"] = int(auth_time)
            if nonce:
                idc["nonce"] = nonce
            digest = hashlib.sha256(access.encode()).digest()
            idc["at_hash"] = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
            if "email" in granted:
                idc.update(email=user["email"], email_verified=False)
            if "profile" in granted:
                idc["name"] = user["name"]
            out["id_token"] = jwt.encode(idc, key.signer(), algorithm=key.alg, headers={"kid": key.kid})
        return out

    async def verify_access_token(self, token: str) -> dict[str, Any]:
        """Claims of a valid, unrevoked access token of ours; raises InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        kid = header.get("kid")
        if header.get("typ") != ACCESS_TYP or not isinstance(kid, str):
            raise InvalidToken("not an access token")
        key = await self.keys.public_key(kid)
        if key is None:
            raise InvalidToken("unknown key")
        try:
            # Algorithms pinned to the key's own: "none" and HS256-with-the-public-key fail here.
            claims: dict[str, Any] = jwt.decode(
                token, key.public_key, algorithms=[key.alg], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]}, leeway=5)
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if await self.is_revoked(claims["jti"]):
            raise InvalidToken("revoked")
        if claims["sub"] != claims.get("client_id") and not await self.user_active(str(claims["sub"])):
            raise InvalidToken("user disabled or deleted")
        return claims

    # ------------------------------------------------------------ user state

    async def user_active(self, user_id: str) -> bool:
        """Whether the user exists and is not disabled; cached for USER_STATE_TTL seconds."""
        now = time.monotonic()
        hit = self._user_state.get(user_id)
        if hit is not None and now - hit[1] < USER_STATE_TTL:
            return hit[0]
        try:
            active = bool(await self.db.fetchval(
                "SELECT disabled_at IS NULL FROM auth_user WHERE id = $1::uuid", user_id))
        except asyncpg.DataError:
            active = False  # not a UUID
        if len(self._user_state) >= USER_STATE_MAX:
            self._user_state.clear()
        self._user_state[user_id] = (active, now)
        return active

    async def _on_user_changed(self, payload: bytes) -> None:
        self._user_state.pop(payload.decode(errors="replace"), None)

    async def _user_changed(self, user_id: str) -> None:
        """Forget the user's state here and, through Redis, in every other instance."""
        self._user_state.pop(user_id, None)
        if self.redis is not None:
            try:
                await self.redis.publish(USER_CHANNEL, user_id.encode())
            except RedisDown:
                log.warning("user_change_not_announced", extra={"user_id": user_id})

    async def revoke_user(self, user_id: str, client_id: str | None = None) -> None:
        """Revoke every token of the user (of one client only when given)."""
        if client_id is None:
            fams = await self.db.fetch("SELECT DISTINCT family_id::text AS fid FROM auth_refresh_token "
                                       "WHERE user_id = $1::uuid AND revoked_at IS NULL", user_id)
            await self._revoke_access("subject = $1", user_id)
        else:
            fams = await self.db.fetch("SELECT DISTINCT family_id::text AS fid FROM auth_refresh_token "
                                       "WHERE user_id = $1::uuid AND client_id = $2 AND revoked_at IS NULL",
                                       user_id, client_id)
            await self._revoke_access("subject = $1 AND client_id = $2", user_id, client_id)
        for f in fams:
            await self.revoke_family(f["fid"])

    async def disable_user(self, user_id: str) -> bool:
        row = await self.db.fetchrow("UPDATE auth_user SET disabled_at = coalesce(disabled_at, now()) "
                                     "WHERE id = $1::uuid RETURNING 1", user_id)
        if row is None:
            return False
        await self.revoke_user(user_id)
        await self._user_changed(user_id)
        return True

    async def enable_user(self, user_id: str) -> bool:
        row = await self.db.fetchrow("UPDATE auth_user SET disabled_at = NULL WHERE id = $1::uuid RETURNING 1",
                                     user_id)
        await self._user_changed(user_id)
        return row is not None

    async def delete_user(self, user_id: str) -> bool:
        await self.revoke_user(user_id)  # access tokens name the user only by subject: revoke them first
        status = await self.db.execute("DELETE FROM auth_user WHERE id = $1::uuid", user_id)
        await self._user_changed(user_id)
        return status.endswith(" 1")

    # ------------------------------------------------------------ grants

    async def granted_to(self, user_id: str, client_id: str) -> set[str]:
        row = await self.db.fetchval("SELECT scopes FROM auth_grant WHERE user_id = $1::uuid AND client_id = $2",
                                     user_id, client_id)
        return set(row or ())

    async def remember_grant(self, user_id: str, client_id: str, scopes: list[str]) -> None:
        await self.db.execute(
            "INSERT INTO auth_grant (user_id, client_id, scopes) VALUES ($1::uuid, $2, $3) "
            "ON CONFLICT (user_id, client_id) DO UPDATE SET updated_at = now(), scopes = ARRAY("
            "SELECT DISTINCT unnest(auth_grant.scopes || EXCLUDED.scopes) ORDER BY 1)",
            user_id, client_id, scopes)

    async def list_grants(self, user_id: str) -> list[Any]:
        return list(await self.db.fetch(
            "SELECT g.client_id, c.name, g.scopes, g.created_at, g.updated_at FROM auth_grant g "
            "JOIN auth_client c USING (client_id) WHERE g.user_id = $1::uuid ORDER BY g.created_at, g.client_id",
            user_id))

    async def revoke_grant(self, user_id: str, client_id: str) -> bool:
        """Forget the consent and revoke the client's tokens for this user."""
        status = await self.db.execute("DELETE FROM auth_grant WHERE user_id = $1::uuid AND client_id = $2",
                                       user_id, client_id)
        if not status.endswith(" 1"):
            return False
        await self.revoke_user(user_id, client_id)
        return True

    # ------------------------------------------------------------ housekeeping

    async def purge_expired(self, grace_hours: int = 24) -> dict[str, int]:
        """Delete codes and tokens that expired more than ``grace_hours`` ago.

        Nothing is lost: an expired code or token is refused anyway, and the revocation
        list only needs tokens that could still be presented.
        """
        purged: dict[str, int] = {}
        for table in ("auth_code", "auth_refresh_token", "auth_access_token"):
            status = await self.db.execute(
                f"DELETE FROM {table} WHERE expires_at < now() - make_interval(hours => $1)", grace_hours)
            purged[table] = int(status.split()[-1])
        return purged

    # -------------------------------------------------------------- revocation

    def _revoked_key(self, jti: str) -> str:
        assert self.redis is not None
        return self.redis.key(f"auth:revoked:{jti}")

    async def is_revoked(self, jti: str) -> bool:
        if self.redis is not None:
            try:
                now = time.monotonic()
                if self._resync_revocations or now - self._last_resync > REVOCATION_RESYNC:
                    await self._push_revocations("revoked_at IS NOT NULL")
                    self._resync_revocations, self._last_resync = False, now
                return bool(await self.redis.run(lambda r: r.exists(self._revoked_key(jti))))
            except RedisDown:
                self._resync_revocations = True  # revocations made elsewhere meanwhile are only in PostgreSQL
        return bool(await self.db.fetchval(
            "SELECT 1 FROM auth_access_token WHERE jti = $1 AND revoked_at IS NOT NULL", jti))

    async def _revoke_access(self, where: str, *args: Any) -> None:
        rows = await self.db.fetch(
            f"UPDATE auth_access_token SET revoked_at = now() WHERE {where} AND revoked_at IS NULL "
            "AND expires_at > now() RETURNING jti, extract(epoch FROM expires_at - now()) AS left", *args)
        await self._cache_revocations(rows)

    async def _push_revocations(self, where: str) -> None:
        """Copy unexpired revocations from PostgreSQL to Redis (after an outage, at start)."""
        rows = await self.db.fetch(
            f"SELECT jti, extract(epoch FROM expires_at - now()) AS left FROM auth_access_token WHERE {where} "
            "AND expires_at > now()")
        await self._cache_revocations(rows, raise_down=True)

    async def _cache_revocations(self, rows: Any, raise_down: bool = False) -> None:
        if rows and self.redis is not None:
            redis = self.redis
            items = [(self._revoked_key(r["jti"]), max(1, int(r["left"]) + 1)) for r in rows]

            async def push(r: Any) -> None:
                pipe = r.pipeline(transaction=False)
                for k, ttl in items:
                    pipe.set(k, 1, ex=ttl)
                await pipe.execute()

            try:
                await redis.run(push)
            except RedisDown:
                self._resync_revocations = True
                log.warning("revocation_not_cached", extra={"count": len(items)})
                if raise_down:
                    raise

    async def revoke_jti(self, jti: str) -> None:
        await self._revoke_access("jti = $1", jti)

    async def revoke_family(self, family_id: str) -> None:
        await self.db.execute("UPDATE auth_refresh_token SET revoked_at = now() WHERE family_id = $1::uuid "
                              "AND revoked_at IS NULL", family_id)
        await self._revoke_access("family_id = $1::uuid", family_id)

    async def _revoke_code_tokens(self, code_hash: str) -> None:
        fams = await self.db.fetch("SELECT DISTINCT family_id::text AS fid FROM auth_refresh_token "
                                   "WHERE code_hash = $1", code_hash)
        for f in fams:
            await self.revoke_family(f["fid"])
        await self._revoke_access("code_hash = $1", code_hash)

    async def revoke(self, client: Client, token: str, hint: str | None) -> None:
        """RFC 7009: revoke a refresh or access token of this client; unknown tokens are fine."""
        order = ["access_token", "refresh_token"] if hint == "access_token" else ["refresh_token", "access_token"]
        for kind in order:
            if kind == "refresh_token":
                row = await self.db.fetchrow("SELECT client_id, family_id::text AS fid FROM auth_refresh_token "
                                             "WHERE token_hash = $1", sha256(token))
                if row is not None:
                    if row["client_id"] == client.client_id:
                        await self.revoke_family(row["fid"])
                    return
            else:
                claims = self._decode_ours_unchecked(token)
                if claims is not None:
                    if claims.get("client_id") == client.client_id and isinstance(claims.get("jti"), str):
                        await self.revoke_jti(claims["jti"])
                    return

    def _decode_ours_unchecked(self, token: str) -> dict[str, Any] | None:
        """Signature-checked claims of our token, expired or not (revoking an expired one is a no-op)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                return None
            return dict(jwt.decode(token, key.public_key, algorithms=[key.alg],
                                   options={"verify_exp": False, "verify_aud": False}))
        except jwt.PyJWTError:
            return None

    async def introspect(self, caller: Client, token: str, hint: str | None) -> dict[str, Any]:
        """RFC 7662, answering only for tokens the caller may see: its own, or any with the introspection right.

        Another client's token is "inactive" to the caller (§2.2 lets the server say so), so the
        endpoint cannot be used to probe tokens a client does not hold.
        """
        out = await self._introspect(token, hint)
        if out.get("active") and not caller.introspection and out.get("client_id") != caller.client_id:
            return {"active": False}
        return out

    async def _introspect(self, token: str, hint: str | None) -> dict[str, Any]:
        if hint != "refresh_token":
            try:
                c = await self.verify_access_token(token)
                return {"active": True, "token_type": "Bearer", "scope": c.get("scope", ""),
                        "client_id": c.get("client_id"), "sub": c["sub"], "exp": c["exp"], "iat": c["iat"],
                        "nbf": c["nbf"], "iss": c["iss"], "aud": c["aud"], "jti": c["jti"]}
            except InvalidToken:
                pass
        try:
            row = await self.db.fetchrow(
                "SELECT client_id, user_id::text AS uid, scope, extract(epoch FROM expires_at)::bigint AS exp, "
                "extract(epoch FROM created_at)::bigint AS iat FROM auth_refresh_token r WHERE token_hash = $1 "
                "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() AND EXISTS (SELECT 1 FROM "
                "auth_user u WHERE u.id = r.user_id AND u.disabled_at IS NULL)", sha256(token))
        except asyncpg.PostgresError:
            row = None
        if row is None:
            return {"active": False}
        return {"active": True, "token_type": "refresh_token", "scope": row["scope"], "client_id": row["client_id"],
                "sub": row["uid"], "exp": row["exp"], "iat": row["iat"], "iss": self.issuer}
