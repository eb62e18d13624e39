"""/readyz means it: each check in each state, over HTTP; plugins add their own checks;
a server refuses to start on a signing key it cannot decrypt."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginError, PluginInfo
from kernel.storage.migrate import migrate
from kernel.web.probes import ReadinessCheck
from tests.conftest import rt_of
from tests.support import fake_identity, hello_plugin
from tests.support.live import LiveShop

PLUGINS = [hello_plugin, fake_identity]

MIGRATION = '''from kernel.storage.migrate import manager, sql

ID = "2026-12-01T00:00:00:{n:06d}"
VERSION = "1.38.0"
DESCRIPTION = "probe test"


async def forwards():
    return manager(ID, "{app}", DESCRIPTION, sql("CREATE TABLE IF NOT EXISTS {app}_t (id INT)"))
'''


def _plugin(name: str, migrations: Path | None = None, checks: list[ReadinessCheck] | None = None) -> Any:
    class P:
        @hookimpl
        def shop_plugin(self) -> PluginInfo:
            return PluginInfo(name=name, version="1", migrations=str(migrations) if migrations else None)

        @hookimpl
        def shop_readiness_checks(self, ctx: PluginContext) -> list[ReadinessCheck]:
            return list(checks or [])

    return P()


async def _ready(client: Any) -> tuple[int, dict[str, Any]]:
    r = await client.get("/readyz")
    return r.status, await r.json()


async def test_ready_names_every_check(make_client):
    client = await make_client()  # every installed plugin, auth included
    status, body = await _ready(client)
    assert status == 200 and body["status"] == "ready" and body["ready"] is True
    assert {k: body[k] for k in ("postgres", "migrations", "signingKey", "redis")} == {
        "postgres": True, "migrations": True, "signingKey": True, "redis": True}
    assert "problems" not in body


async def test_redis_down_is_degraded_not_unready(make_client):
    client = await make_client(PLUGINS, redis_url="redis://127.0.0.1:1/0")
    status, body = await _ready(client)
    assert status == 200 and body["ready"] is True and body["status"] == "degraded"
    assert body["redis"] is False and "redis" in body["problems"]
    metrics = await (await client.get("/metrics")).text()
    assert re.search(r"^shop_redis_up 0\.0$", metrics, re.M), "the gauge follows the outage"


async def test_pending_migrations_make_it_unready_until_applied(make_client, tmp_path):
    app_name = f"probe{int(time.time() * 1000) % 10**8}"
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "m0001_probe.py").write_text(MIGRATION.format(n=1, app=app_name))
    client = await make_client([*PLUGINS, _plugin(app_name, folder)])
    status, body = await _ready(client)
    assert status == 503 and body["migrations"] is False and body["status"] == "unready"
    assert body["problems"]["migrations"].startswith("1 migration(s) pending")
    assert body["postgres"] is True
    r = await client.get("/readyz")
    assert r.headers["Retry-After"] == "5"
    await migrate(rt_of(client).db, [(app_name, folder)])
    status, body = await _ready(client)
    assert status == 200 and body["migrations"] is True


async def test_a_plugins_failing_check_makes_it_unready(make_client):
    state = {"why": "widget factory offline"}

    async def widget() -> str | None:
        return state["why"]

    async def explodes() -> str | None:
        raise RuntimeError("secret internals")

    async def hangs() -> str | None:
        await asyncio.sleep(30)
        return None

    client = await make_client([*PLUGINS, _plugin("widgets", checks=[ReadinessCheck("widget", widget)])])
    status, body = await _ready(client)
    assert status == 503 and body["widget"] is False and body["problems"]["widget"] == "widget factory offline"
    state["why"] = None
    assert (await _ready(client))[0] == 200

    broken = await make_client([*PLUGINS, _plugin("broken", checks=[ReadinessCheck("boom", explodes),
                                                                    ReadinessCheck("slow", hangs)])])
    status, body = await _ready(broken)
    assert status == 503 and body["problems"] == {"boom": "failed", "slow": "timed out"}
    assert "secret" not in str(body)


async def test_readiness_check_names_cannot_collide(make_client):
    async def ok() -> str | None:
        return None

    with pytest.raises(PluginError, match="readiness check name 'postgres' is taken"):
        await make_client([*PLUGINS, _plugin("liar", checks=[ReadinessCheck("postgres", ok)])])


def _serve(shop: LiveShop, secret: str) -> tuple[int, str]:
    """Run `shop serve` with ``secret``; (exit code or 0 if it came up ready, stderr)."""
    shop.env_extra["SHOP_SECRET_KEY"] = secret
    proc = shop.start(wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            shop.procs.remove(proc)
            shop.ports.remove(shop.public_port)
            return proc.returncode, shop.log_text()
        try:
            r = httpx.get(f"{shop.base}/readyz", timeout=2)
            if r.status_code == 200:
                body = r.json()
                shop.stop(proc)
                return 0, str(body)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("shop neither started nor failed")


def test_a_signing_key_unreadable_with_this_secret_stops_startup_with_a_clear_message(servers):
    shop = LiveShop(servers["database"], servers["redis"])
    shop.create()
    try:
        code, _ = _serve(shop, "the-first-secret")
        assert code == 0
        code, err = _serve(shop, "a-different-secret")
        assert code != 0 and "signing key cannot be decrypted with this SHOP_SECRET_KEY" in err
        assert "Traceback" not in err
        # The way out the message names: a CLI command still starts, and makes a new key.
        shop.env_extra["SHOP_SECRET_KEY"] = "a-different-secret"
        shop.cli("keys", "rotate")
        code, body = _serve(shop, "a-different-secret")
        assert code == 0 and "'signingKey': True" in body
    finally:
        shop.destroy()


def test_migrate_status_and_an_unmigrated_server_is_unready(servers):
    shop = LiveShop(servers["database"], servers["redis"])
    from tests.support.live import create_database, run_async

    run_async(create_database(shop.admin_db_url, shop.db_name))  # empty: nothing applied
    try:
        before = shop.cli("migrate", "--status", check=False)
        assert before.returncode == 1 and "pending  kernel:" in before.stdout and "pending  auth:" in before.stdout
        assert re.search(r"^0 applied, \d+ pending: run `shop migrate`$", before.stdout, re.M)
        proc = shop.start(wait=False)
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline and body is None:
            try:
                r = httpx.get(f"{shop.base}/readyz", timeout=2)
                body = (r.status_code, r.json())
            except httpx.HTTPError:
                time.sleep(0.2)
        assert body is not None and body[0] == 503 and body[1]["migrations"] is False
        shop.stop(proc)
        shop.cli("migrate")
        after = shop.cli("migrate", "--status", "--json", check=False)
        assert after.returncode == 0
        import json

        status = json.loads(after.stdout)
        assert status["pending"] == [] and any(a.startswith("wallet:") for a in status["applied"])
    finally:
        shop.destroy()
