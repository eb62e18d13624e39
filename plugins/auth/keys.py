"""Signing keys: generated on first start, kept in PostgreSQL, shared by every process.

The private key is stored as PKCS#8 PEM, encrypted with ``settings.secret_key`` when
one is set. Retired keys stay in the JWKS until every token they signed has expired.
A process reloads the keys when it meets an unknown ``kid`` (another process rotated)
and every ``REFRESH_SECONDS`` (so that all processes switch to a new signing key).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kernel.storage.db import Database

log = logging.getLogger("shop.plugins.auth")

REFRESH_SECONDS = 60.0
UNKNOWN_KID_BACKOFF = 5.0
_LOCK_ID = 0x5E0F_A17


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: Any | None  # None for keys whose PEM we cannot decrypt (wrong secret)
    public_key: Any
    public_jwk: dict[str, Any]
    retired_at: float | None

    def signer(self) -> Any:
        """The private key to sign with (the active key always has one: see KeyStore.load)."""
        if self.private_key is None:
            raise RuntimeError(f"signing key {self.kid} cannot be decrypted: run `shop keys rotate` or fix secret_key")
        return self.private_key


def _generate(alg: str) -> Any:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _public_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algo = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(algo.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


class KeyStore:
    def __init__(self, db: Database, secret_key: str | None, alg: str, token_ttl: int) -> None:
        self.db = db
        self.password = secret_key.encode() if secret_key else None
        self.alg = alg
        self.token_ttl = token_ttl
        self.keys: dict[str, SigningKey] = {}
        self.active: SigningKey | None = None
        self._loaded_at = 0.0
        self._last_unknown = 0.0

    async def start(self) -> None:
        """Load the keys; create the first one if there is none (once, across processes)."""
        await self.load()
        if self.active is None:
            async with self.db.transaction():
                await self.db.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
                has = await self.db.fetchval("SELECT 1 FROM auth_signing_key WHERE retired_at IS NULL LIMIT 1")
                if not has:
                    await self._insert_new()
            await self.load()

    async def rotate(self) -> str:
        """Retire the current key and start signing with a new one; returns the new kid."""
        async with self.db.transaction():
            await self.db.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
            await self.db.execute("UPDATE auth_signing_key SET retired_at = now() WHERE retired_at IS NULL")
            kid = await self._insert_new()
        await self.load()
        return kid

    async def _insert_new(self) -> str:
        key = _generate(self.alg)
        kid = uuid.uuid4().hex[:16]
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self.password) if self.password else serialization.NoEncryption())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
        await self.db.execute(
            "INSERT INTO auth_signing_key (kid, alg, private_pem, encrypted, public_jwk) VALUES ($1, $2, $3, $4, $5)",
            kid, self.alg, pem, self.password is not None, json.dumps(_public_jwk(key, kid, self.alg)))
        log.info("signing_key_created", extra={"kid": kid, "alg": self.alg})
        return kid

    async def load(self) -> None:
        # Keep retired keys while tokens they signed may live (plus one refresh period).
        rows = await self.db.fetch(
            "SELECT kid, alg, private_pem, encrypted, public_jwk::text AS jwk, "
            "extract(epoch FROM retired_at) AS retired FROM auth_signing_key "
            "WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1) ORDER BY created_at",
            float(self.token_ttl + REFRESH_SECONDS * 2))
        keys: dict[str, SigningKey] = {}
        active: SigningKey | None = None
        for r in rows:
            jwk = json.loads(r["jwk"])
            algo = jwt.algorithms.RSAAlgorithm if r["alg"] == "RS256" else jwt.algorithms.ECAlgorithm
            public = algo.from_jwk(jwk)
            private = None
            if r["retired"] is None:
                try:
                    private = serialization.load_pem_private_key(
                        bytes(r["private_pem"]), password=self.password if r["encrypted"] else None)
                except (TypeError, ValueError):
                    log.error("signing_key_unreadable", extra={"kid": r["kid"],
                                                               "hint": "secret_key differs from the one it was made with"})
            sk = SigningKey(r["kid"], r["alg"], private, public, jwk,
                            float(r["retired"]) if r["retired"] is not None else None)
            keys[sk.kid] = sk
            if sk.retired_at is None and private is not None:
                active = sk
        self.keys = keys
        self.active = active
        self._loaded_at = time.monotonic()

    async def signing_key(self) -> SigningKey:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS or self.active is None:
            await self.load()
        if self.active is None:
            raise RuntimeError("no usable signing key: run `shop keys rotate` or fix secret_key")
        return self.active

    async def public_key(self, kid: str) -> SigningKey | None:
        """The key for ``kid``, reloading (rate-limited) when another process made it."""
        key = self.keys.get(kid)
        if key is None and time.monotonic() - self._last_unknown > UNKNOWN_KID_BACKOFF:
            self._last_unknown = time.monotonic()
            await self.load()
            key = self.keys.get(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.keys.values()]}
