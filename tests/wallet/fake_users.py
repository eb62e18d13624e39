"""Test-only stand-in for the auth plugin: serves shop.auth.v1.Users with canned users.

Any ``<id>@example.test`` address belongs to the user ``<id>`` (the same rule as
tests/support/fake_identity.py), except addresses starting with ``nobody``,
which belong to no one. Named "auth" so that wallet's ``requires`` is met; use
it with an explicit plugin list so the real auth plugin is not loaded.
"""

from __future__ import annotations

from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, not_found
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo
from plugins.auth import contract as auth

DOMAIN = "example.test"


def user_for(user_id: str) -> auth.User:
    return auth.User(id=user_id, email=f"{user_id}@{DOMAIN}", name=user_id, roles=(), created_at="2026-11-26T00:00:00Z")


class FakeUsers:
    async def get_me(self, req: auth.GetMe, ctx: CallContext) -> auth.User:
        if ctx.principal.user_id is None:
            raise BusError(Status.UNAUTHENTICATED, "Sign in to do this.")
        return user_for(ctx.principal.user_id)

    async def get_user(self, req: auth.GetUser, ctx: CallContext) -> auth.User:
        return user_for(req.user_id)

    async def find_user_by_email(self, req: auth.FindUserByEmail, ctx: CallContext) -> auth.User:
        local, _, domain = req.email.strip().lower().partition("@")
        if domain != DOMAIN or not local or local.startswith("nobody"):
            raise not_found("user")
        return user_for(local)

    # Canned users have consented to no third-party application.
    async def list_my_grants(self, req: auth.ListMyGrants, ctx: CallContext) -> tuple[auth.Grant, ...]:
        return ()

    async def revoke_grant(self, req: auth.RevokeGrant, ctx: CallContext) -> auth.GrantRevoked:
        return auth.GrantRevoked(client_id=req.client_id, revoked=False)

    # Canned users are read-only: the account page's writes belong to the real auth plugin.
    async def update_me(self, req: auth.UpdateMe, ctx: CallContext) -> auth.User:
        raise BusError(Status.FAILED_PRECONDITION, "Canned test users cannot be changed.")

    async def change_password(self, req: auth.ChangePassword, ctx: CallContext) -> auth.PasswordChanged:
        raise BusError(Status.FAILED_PRECONDITION, "Canned test users have no password.")

    async def request_password_reset(self, req: auth.RequestPasswordReset, ctx: CallContext) -> auth.PasswordResetRequested:
        return auth.PasswordResetRequested(accepted=True, expires_in=1800)  # and no mail: there is no password

    async def reset_password(self, req: auth.ResetPassword, ctx: CallContext) -> auth.PasswordReset:
        raise BusError(Status.INVALID_ARGUMENT, "Canned test users have no password.", reason="RESET_TOKEN_INVALID")

    async def issue_reset_link(self, req: auth.IssueResetLink, ctx: CallContext) -> auth.ResetLink:
        raise not_found("password reset")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="auth", version="0.0.0", description="test-only canned users")


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    return [(auth.Users, FakeUsers())]
