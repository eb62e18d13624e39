"""Password reset by mail.

1. ``request``: the same work whatever the email (a lookup, one row, one event), and the
   same answer, so the endpoint cannot tell who has an account. Throttled per email and
   per client address (every request counts).
2. The mail plugin handles the event and asks :meth:`issue_link` at send time: a random
   token is made then and only its SHA-256 is stored, so no token waits in the outbox.
   Unknown emails, used or expired requests: NOT_FOUND, nothing is sent.
3. ``confirm``: the token, unused and unexpired, sets the password (single use); every
   pending reset of the account is spent and every session and token revoked.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

import asyncpg

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, not_found
from kernel.storage.db import Database

from . import users
from .config import AuthConfig
from .contract import (
    IssueResetLink,
    PasswordReset,
    PasswordResetMail,
    PasswordResetRequested,
    RequestPasswordReset,
    ResetLink,
    ResetPassword,
)
from .throttle import FailureThrottle

if TYPE_CHECKING:
    from .authority import Authority

log = logging.getLogger("shop.plugins.auth")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def invalid_token() -> BusError:
    return BusError(Status.INVALID_ARGUMENT, "This reset link is not valid any more. Ask for a new one.",
                    reason="RESET_TOKEN_INVALID", field_errors=[("token", "is unknown, used or expired")])


class PasswordResets:
    def __init__(self, db: Database, plugin_ctx: Any, authority: Authority, config: AuthConfig,
                 throttle: FailureThrottle) -> None:
        self.db = db
        self.pctx = plugin_ctx  # its bus is read at call time (built after the plugins' contributions)
        self.authority = authority
        self.config = config
        self.throttle = throttle

    async def request(self, req: RequestPasswordReset, ctx: CallContext) -> PasswordResetRequested:
        ip = ctx.client_ip or "unknown"
        wait = await self.throttle.wait(req.email, ip)
        if wait:
            raise BusError(Status.RESOURCE_EXHAUSTED, f"Too many reset requests. Try again in {wait} seconds.",
                           reason="TOO_MANY_RESETS", retry_after=wait)
        await self.throttle.failed(req.email, ip)  # every request counts, known email or not
        ttl = self.config.password_reset_ttl
        async with self.db.transaction():
            row = await users.find_by_email(self.db, req.email)
            reset_id = await self.db.fetchval(
                "INSERT INTO auth_password_reset (user_id, expires_at) "
                "VALUES ($1::uuid, now() + make_interval(secs => $2)) RETURNING id::text",
                row["id"] if row is not None else None, ttl)
            await self.pctx.bus.publish(PasswordResetMail(reset_id=reset_id))
        return PasswordResetRequested(accepted=True, expires_in=ttl)

    async def issue_link(self, req: IssueResetLink, ctx: CallContext) -> ResetLink:
        token = secrets.token_urlsafe(32)
        try:
            row = await self.db.fetchrow(
                "UPDATE auth_password_reset r SET token_hash = $2 FROM auth_user u "
                "WHERE r.id = $1::uuid AND u.id = r.user_id AND r.used_at IS NULL AND r.expires_at > now() "
                "AND u.disabled_at IS NULL RETURNING u.email, u.name, r.expires_at", req.reset_id, token_hash(token))
        except asyncpg.DataError:  # not a UUID
            raise not_found("password reset") from None
        if row is None:
            raise not_found("password reset")
        return ResetLink(email=row["email"], name=row["name"], token=token,
                         expires_at=row["expires_at"].isoformat().replace("+00:00", "Z"))

    async def confirm(self, req: ResetPassword, ctx: CallContext) -> PasswordReset:
        if not (users.MIN_PASSWORD <= len(req.password) <= users.MAX_PASSWORD):
            raise BusError(Status.INVALID_ARGUMENT, "The new password is too short.", field_errors=[
                ("password", f"must be {users.MIN_PASSWORD} to {users.MAX_PASSWORD} characters")])
        async with self.db.transaction():
            user_id = await self.db.fetchval(
                "UPDATE auth_password_reset SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL "
                "AND expires_at > now() AND user_id IS NOT NULL RETURNING user_id::text", token_hash(req.token))
            if user_id is None:
                raise invalid_token()
            # One reset spends every other pending link of the account.
            await self.db.execute("UPDATE auth_password_reset SET used_at = now() "
                                  "WHERE user_id = $1::uuid AND used_at IS NULL", user_id)
            await users.set_password(self.db, user_id, req.password)
        await self.authority.revoke_user(user_id)
        log.info("password_reset", extra={"user_id": user_id})
        return PasswordReset(reset=True, signed_out=True)

    async def purge(self, grace_hours: int = 24) -> int:
        status = await self.db.execute(
            "DELETE FROM auth_password_reset WHERE expires_at < now() - make_interval(hours => $1)", grace_hours)
        return int(status.split()[-1])
