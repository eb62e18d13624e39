"""Test-only plugin: the caller is whoever the ``X-Test-Principal`` header says.

Lets adapter tests of catalog, wallet and orders run without the OAuth flow;
the auth plugin's own tests (and the end-to-end tests) use real tokens. Never
shipped, never registered through entry points.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from kernel.core.context import Principal, reads_credentials
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo

ALL_USER_SCOPES = ("openid", "profile", "email", "catalog:read", "cart:write", "orders:read", "orders:write",
                   "wallet:read", "wallet:write", "reviews:write", "payments:write")


def principal_header(user_id: str, *, email: str | None = None, roles: tuple[str, ...] = (),
                     scopes: tuple[str, ...] = ALL_USER_SCOPES) -> dict[str, str]:
    return {"X-Test-Principal": orjson.dumps({"userId": user_id, "email": email or f"{user_id}@example.test",
                                              "roles": list(roles), "scopes": list(scopes)}).decode()}


def user_principal(user_id: str, *, email: str | None = None, roles: tuple[str, ...] = (),
                   scopes: tuple[str, ...] = ALL_USER_SCOPES) -> Principal:
    return Principal(kind="user", subject=user_id, user_id=user_id, email=email or f"{user_id}@example.test",
                     roles=frozenset(roles), scopes=frozenset(scopes), via="bearer")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="fake_identity", version="0.0.0", description="test-only identity header")


@hookimpl
def shop_authenticators(ctx: PluginContext) -> list[Any]:
    @reads_credentials("X-Test-Principal")
    async def from_header(request: web.Request) -> Principal | None:
        raw = request.headers.get("X-Test-Principal")
        if not raw:
            return None
        d = orjson.loads(raw)
        # Like auth: a broader scope grants what it implies (admin: orders:manage, catalog:write).
        scopes = ctx.runtime.scopes.expand(d.get("scopes", ALL_USER_SCOPES))
        return user_principal(d["userId"], email=d.get("email"), roles=tuple(d.get("roles", ())),
                              scopes=tuple(sorted(scopes)))

    return [from_header]
