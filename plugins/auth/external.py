"""Access tokens from configured external OpenID Connect issuers, mapped to local users."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import aiohttp
import jwt

from kernel.core.scopes import ScopeRegistry
from kernel.storage.db import Database

from . import scopes as sc
from .config import ExternalIssuer

log = logging.getLogger("shop.plugins.auth")
JWKS_TTL = 600.0
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]


class ExternalIssuers:
    def __init__(self, db: Database, issuers: tuple[ExternalIssuer, ...], registry: ScopeRegistry) -> None:
        self.registry = registry
        self.db = db
        self.by_issuer = {i.issuer.rstrip("/"): i for i in issuers}
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}

    def handles(self, iss: Any) -> ExternalIssuer | None:
        return self.by_issuer.get(iss.rstrip("/")) if isinstance(iss, str) else None

    async def _key(self, cfg: ExternalIssuer, kid: str | None, *, force: bool = False) -> Any:
        cached = self._jwks.get(cfg.issuer)
        if force or cached is None or time.monotonic() - cached[0] > JWKS_TTL:
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
                    async with http.get(cfg.jwks) as resp:
                        resp.raise_for_status()
                        data = await resp.json(content_type=None)
                cached = (time.monotonic(), data)
                self._jwks[cfg.issuer] = cached
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("external_jwks_unavailable", extra={"issuer": cfg.issuer, "error": str(exc)})
                if cached is None:
                    return None
        for jwk in cached[1].get("keys", []):
            if kid is None or jwk.get("kid") == kid:
                try:
                    return jwt.PyJWK(jwk)
                except jwt.PyJWTError:
                    continue
        return None

    async def verify(self, cfg: ExternalIssuer, token: str) -> dict[str, Any] | None:
        """Verified claims, or None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if header.get("alg") not in ALGORITHMS:
            return None
        kid = header.get("kid")
        key = await self._key(cfg, kid)
        if key is None:
            key = await self._key(cfg, kid, force=True)  # the issuer may have rotated
        if key is None:
            return None
        try:
            return dict(jwt.decode(token, key.key, algorithms=[header["alg"]], audience=cfg.audience,
                                   issuer=cfg.issuer, options={"require": ["exp", "iss", "aud", "sub"]}, leeway=30))
        except jwt.PyJWTError:
            return None

    async def local_user(self, cfg: ExternalIssuer, claims: dict[str, Any]) -> Any:
        """The local user for (issuer, sub), created on first sight."""
        sub = str(claims["sub"])[:255]
        row = await self.db.fetchrow(
            "SELECT u.id::text AS id, u.email, u.name, u.roles FROM auth_external_identity x "
            "JOIN auth_user u ON u.id = x.user_id WHERE x.issuer = $1 AND x.subject = $2", cfg.issuer, sub)
        if row is not None:
            return row
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        name = str(claims.get("name") or "")[:200]
        # Never link to an existing local account by email: the external issuer does not own our users.
        placeholder = hashlib.sha256(f"{cfg.issuer}\0{sub}".encode()).hexdigest()[:24] + "@external.invalid"
        async with self.db.transaction():
            user = None
            for candidate in ([email] if email and 3 <= len(email) <= 254 else []) + [placeholder]:
                user = await self.db.fetchrow(
                    "INSERT INTO auth_user (email, name) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING RETURNING id::text AS id, email, name, roles", candidate, name)
                if user is not None:
                    break
            if user is None:
                return None
            linked = await self.db.fetchval(
                "INSERT INTO auth_external_identity (issuer, subject, user_id) VALUES ($1, $2, $3::uuid) "
                "ON CONFLICT DO NOTHING RETURNING 1", cfg.issuer, sub, user["id"])
            if linked is None:  # a concurrent request linked first: use its user
                await self.db.execute("DELETE FROM auth_user WHERE id = $1::uuid", user["id"])
                return await self.db.fetchrow(
                    "SELECT u.id::text AS id, u.email, u.name, u.roles FROM auth_external_identity x "
                    "JOIN auth_user u ON u.id = x.user_id WHERE x.issuer = $1 AND x.subject = $2", cfg.issuer, sub)
        log.info("external_user_created", extra={"issuer": cfg.issuer, "user_id": user["id"]})
        return user

    def scopes(self, claims: dict[str, Any]) -> list[str]:
        default = sc.user_default(self.registry)  # never admin (or what it implies) from outside
        raw = claims.get("scope") or claims.get("scp")
        if isinstance(raw, list):
            raw = " ".join(str(s) for s in raw)
        if not isinstance(raw, str):
            return default
        return [s for s in raw.split() if s in default]
