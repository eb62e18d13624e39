"""The Users servicer: the bus side of the auth plugin."""

from __future__ import annotations

from kernel.context import CallContext
from kernel.db import Database
from kernel.status import BusError, Status, not_found

from . import users
from .contract import FindUserByEmail, GetMe, GetUser, User


class UsersServicer:
    def __init__(self, db: Database) -> None:
        self.db = db

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
