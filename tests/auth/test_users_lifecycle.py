"""Disabled and deleted users: every token of theirs stops working at once, on every instance."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from kernel.host.app import create_app
from tests.conftest import ROOT
from tests.support.auth_helpers import DEFAULT_PASSWORD, create_user

from .addresses import post_form, sign_in, tokens_for
from .conftest import authority_of, free_port

SHOP = str(Path(sys.executable).parent / "shop")


class _Client:
    def __init__(self, server):
        self.server = server


@pytest.fixture
async def twin(live, settings):
    """Two instances of one deployment: same database, Redis prefix and issuer, two ports."""
    one = await live()
    two = TestServer(create_app(settings.with_(public_url=authority_of(one).issuer)), host="127.0.0.1",
                     port=free_port())
    await two.start_server()
    yield one, two
    await two.close()


def base_of(server) -> str:
    return str(server.make_url("/")).rstrip("/")


async def shop_cli(settings, *args: str) -> tuple[int, str, str]:
    """The real `shop` command, as another process, on the same database and Redis prefix."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "SHOP_REDIS_PREFIX": settings.redis_prefix, "SHOP_HOME": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(SHOP, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return int(proc.returncode or 0), out.decode(), err.decode()


async def test_disabling_a_user_from_the_cli_kills_their_tokens_on_every_instance_at_once(twin, settings):
    one, two = twin
    email = f"gone-{uuid.uuid4().hex[:8]}@example.test"
    await create_user(_Client(one), email)
    async with aiohttp.ClientSession(base_of(one)) as s1, aiohttp.ClientSession(base_of(two)) as s2:
        tokens = await tokens_for(s1, authority_of(one).issuer, email, DEFAULT_PASSWORD)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        # Both instances have seen the user as active (and cached it).
        assert (await s1.get("/api/me", headers=bearer)).status == 200
        assert (await s2.get("/api/me", headers=bearer)).status == 200
        rc, _out, err = await shop_cli(settings, "users", "disable", "--email", email)
        assert rc == 0, err
        assert (await s1.get("/api/me", headers=bearer)).status == 401
        assert (await s2.get("/api/me", headers=bearer)).status == 401
        status, body = await post_form(s2, "/oauth/token", {"grant_type": "refresh_token", "client_id": "web-client",
                                                             "refresh_token": tokens["refresh_token"]})
        assert status == 400 and body["error"] == "invalid_grant"
        status, text = await sign_in(base_of(two), authority_of(two).issuer, "127.0.0.1", email, DEFAULT_PASSWORD)
        assert status == 403 and "disabled" in text
        # Enabled again: signs in (old tokens stay revoked).
        rc, _, err = await shop_cli(settings, "users", "enable", "--email", email)
        assert rc == 0, err
        assert (await s2.get("/api/me", headers=bearer)).status == 401
        fresh = await tokens_for(s2, authority_of(two).issuer, email, DEFAULT_PASSWORD)
        assert (await s1.get("/api/me", headers={"Authorization": f"Bearer {fresh['access_token']}"})).status == 200


async def test_a_user_state_change_reaches_other_instances_before_the_cache_expires(twin):
    """The per-user check itself: another instance forgets its cached "active" through pub/sub."""
    one, two = twin
    user = await create_user(_Client(one), f"cache-{uuid.uuid4().hex[:8]}@example.test")
    a1, a2 = authority_of(one), authority_of(two)
    assert await a2.user_active(user["id"]) is True  # cached for a few seconds on instance two
    await a1.db.execute("UPDATE auth_user SET disabled_at = now() WHERE id = $1::uuid", user["id"])
    assert await a2.user_active(user["id"]) is True  # a raw database change is not announced...
    await a1._user_changed(user["id"])  # ...what disable/delete do is
    for _ in range(50):
        if not await a2.user_active(user["id"]):
            break
        await asyncio.sleep(0.02)
    assert await a2.user_active(user["id"]) is False


async def test_deleting_a_user_revokes_their_tokens_and_needs_confirmation(live, settings):
    server = await live()
    email = f"del-{uuid.uuid4().hex[:8]}@example.test"
    await create_user(_Client(server), email)
    async with aiohttp.ClientSession(base_of(server)) as s:
        tokens = await tokens_for(s, authority_of(server).issuer, email, DEFAULT_PASSWORD)
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        rc, _, err = await shop_cli(settings, "users", "delete", "--email", email)
        assert rc == 2 and "--yes" in err and len(err.strip().splitlines()) == 1
        assert (await s.get("/api/me", headers=bearer)).status == 200
        rc, _out, err = await shop_cli(settings, "users", "delete", "--email", email, "--yes")
        assert rc == 0, err
        assert (await s.get("/api/me", headers=bearer)).status == 401
        rc, _, err = await shop_cli(settings, "users", "disable", "--email", email)
        assert rc == 2 and "no user" in err
