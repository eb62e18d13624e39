"""Fixtures for the reviews distribution's own tests: the installed shop plus this plugin.

Needs DATABASE_URL (a database this run may migrate) and REDIS_URL, and SHOP_HOME
pointing at the shop's checkout (for the first-party plugins' migrations).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from importlib.metadata import entry_points
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kernel.core.context import Principal, reads_credentials
from kernel.engine.config import load_settings
from kernel.host.app import create_app, runtime_of
from kernel.host.hookspecs import hookimpl
from kernel.host.loader import ENTRY_POINT_GROUP, migration_apps
from kernel.host.plugin import PluginContext, PluginInfo
from kernel.storage.migrate import migrate

USER_SCOPES = ("openid", "catalog:read", "cart:write", "orders:read", "orders:write", "wallet:read", "wallet:write",
               "reviews:write")


class HeaderIdentity:
    """Test-only: the caller is whoever the X-Test-User header names (admin if it starts with admin)."""

    @hookimpl
    def shop_plugin(self) -> PluginInfo:
        return PluginInfo(name="test_identity", version="0", description="test-only identity header")

    @hookimpl
    def shop_authenticators(self, ctx: PluginContext) -> list[Any]:
        @reads_credentials("X-Test-User")
        async def from_header(request: web.Request) -> Principal | None:
            user = request.headers.get("X-Test-User")
            if not user:
                return None
            admin = user.startswith("admin")
            return Principal(kind="user", subject=user, user_id=user, roles=frozenset({"admin"} if admin else ()),
                             scopes=frozenset((*USER_SCOPES, "admin") if admin else USER_SCOPES), via="bearer")

        return [from_header]


def as_user(user: str) -> dict[str, str]:
    return {"X-Test-User": user}


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


@pytest.fixture
async def make_shop() -> AsyncIterator[Callable[..., Any]]:
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        pytest.fail("set DATABASE_URL, REDIS_URL (and SHOP_HOME to the shop's checkout) to run these tests")
    clients: list[TestClient] = []

    async def make(**overrides: Any) -> TestClient:
        settings = load_settings().with_(redis_prefix=f"t{uuid.uuid4().hex[:8]}:", log_json=False, demo=True, **overrides)
        plugins = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)
                   if ep.name not in settings.plugins_disabled]
        app = create_app(settings, [*plugins, HeaderIdentity()])
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        rt = runtime_of(app)
        await migrate(rt.db, migration_apps(settings, rt.plugins))  # idempotent, under a lock
        return client

    yield make
    for c in clients:
        await c.close()
