"""The Users servicer: the bus side of the auth plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, not_found
from kernel.storage.db import Database

from . import users
from .contract import (
    ChangePassword,
    FindUserByEmail,
    GetMe,
    GetUser,
    Grant,
    GrantRevoked,
    IssueResetLink,
    ListMyGrants,
    PasswordChanged,
    PasswordReset,
    PasswordResetRequested,
    RequestPasswordReset,
    ResetLink,
    ResetPassword,
    RevokeGrant,
    ScopeView,
    UpdateMe,
    User,
)

if TYPE_CHECKING:
    from .authority import Authority
    from .reset import PasswordResets


def _iso(ts: object) -> str:
    return str(ts.isoformat()).replace("+00:00", "Z")  # type: ignore[attr-defined]


class UsersServicer:
    def __init__(self, db: Database, authority: Authority, resets: PasswordResets) -> None:
        self.db = db
        self.authority = authority
        self.resets = resets

    # Password reset by mail: reset.py.
    async def request_password_reset(self, req: RequestPasswordReset, ctx: CallContext) -> PasswordResetRequested:
        return await self.resets.request(req, ctx)

    async def reset_password(self, req: ResetPassword, ctx: CallContext) -> PasswordReset:
        return await self.resets.confirm(req, ctx)

    async def issue_reset_link(self, req: IssueResetLink, ctx: CallContext) -> ResetLink:
        return await self.resets.issue_link(req, ctx)

    async def get_me(self, req: GetMe, ctx: CallContext) -> User:
        user_id = ctx.principal.user_id
        row = await users.get_user(self.db, user_id) if user_id else None
        if row is None:
            # A valid token for a deleted user.
            raise BusError(Status.UNAUTHENTICATED, "Your account no longer exists.", reason="UNAUTHENTICATED")
        return users.to_message(row)

    async def get_user(self, req: GetUser, ctx: CallContext) -> User:
        row = await users.get_user(self.db, req.user_id)
        if row is None:
            raise not_found("user")
        return users.to_message(row)

    async def find_user_by_email(self, req: FindUserByEmail, ctx: CallContext) -> User:
        row = await users.find_by_email(self.db, req.email)
        if row is None:
            raise not_found("user")
        return users.to_message(row)

    @staticmethod
    def _first_party(ctx: CallContext) -> str:
        from .authority import WEB_CLIENT

        p = ctx.principal
        if p.client_id != WEB_CLIENT or p.user_id is None:
            raise BusError(Status.PERMISSION_DENIED, "Manage application permissions from the shop itself.",
                           reason="FIRST_PARTY_ONLY")
        return p.user_id

    async def update_me(self, req: UpdateMe, ctx: CallContext) -> User:
        user_id = self._first_party(ctx)
        errors = users.validate_name(req.name)
        if errors:
            raise BusError(Status.INVALID_ARGUMENT, "name " + errors[0][1], field_errors=errors)
        row = await users.set_name(self.db, user_id, req.name)
        if row is None:
            raise BusError(Status.UNAUTHENTICATED, "Your account no longer exists.", reason="UNAUTHENTICATED")
        return users.to_message(row)

    async def change_password(self, req: ChangePassword, ctx: CallContext) -> PasswordChanged:
        """Needs the current password (a stolen session alone cannot take the account over). Every token of
        the user is revoked afterwards, this session's too: whoever knew the old password is signed out."""
        user_id = self._first_party(ctx)
        row = await users.get_user(self.db, user_id)
        if row is None or not row["password_hash"] or await users.authenticate(self.db, row["email"],
                                                                                 req.current_password) is None:
            raise BusError(Status.INVALID_ARGUMENT, "The current password is not right.", reason="WRONG_PASSWORD",
                           field_errors=[("currentPassword", "is not your current password")])
        if not (users.MIN_PASSWORD <= len(req.new_password) <= users.MAX_PASSWORD):
            raise BusError(Status.INVALID_ARGUMENT, "The new password is too short.", field_errors=[
                ("newPassword", f"must be {users.MIN_PASSWORD} to {users.MAX_PASSWORD} characters")])
        if req.new_password == req.current_password:
            raise BusError(Status.INVALID_ARGUMENT, "Choose a password you have not been using.",
                           field_errors=[("newPassword", "is the same as the current one")])
        await users.set_password(self.db, user_id, req.new_password)
        await self.authority.revoke_user(user_id)
        return PasswordChanged(changed=True, signed_out=True)

    async def list_my_grants(self, req: ListMyGrants, ctx: CallContext) -> tuple[Grant, ...]:
        user_id = self._first_party(ctx)
        registry = self.authority.scopes
        out = []
        for r in await self.authority.list_grants(user_id):
            views = tuple(ScopeView(name=s, description=(d.description if (d := registry.get(s)) else s))
                          for s in r["scopes"])
            out.append(Grant(client_id=r["client_id"], client_name=r["name"], scopes=views,
                             created_at=_iso(r["created_at"]), updated_at=_iso(r["updated_at"])))
        return tuple(out)

    async def revoke_grant(self, req: RevokeGrant, ctx: CallContext) -> GrantRevoked:
        user_id = self._first_party(ctx)
        if not await self.authority.revoke_grant(user_id, req.client_id):
            raise not_found("grant")
        return GrantRevoked(client_id=req.client_id, revoked=True)
