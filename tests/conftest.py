"""Test fixtures: real PostgreSQL and Redis, a fresh app per test.

The servers come from DATABASE_URL / REDIS_URL (CI points them at the machine's
PostgreSQL and Redis); when unset, an embedded PostgreSQL and Valkey are started
under .shop-data/test. Each pytest run creates its own database and drops it at
the end; each app gets its own Redis key prefix, so tests never see each other's
cache, rate limits or events. If a server cannot be reached the run fails: no
test is ever skipped for lack of a service.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from kernel.engine.config import Settings, load_settings
from kernel.engine.runtime import Runtime, build_runtime
from kernel.host.app import create_app, runtime_of
from kernel.host.loader import discover, migration_apps
from kernel.storage.embedded import EmbeddedServices
from kernel.storage.migrate import migrate
from tests.support.live import create_database, drop_database, run_async, with_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    db_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    emb = EmbeddedServices(ROOT / ".shop-data" / "test")
    if not db_url or not redis_url:
        emb.start(not db_url, not redis_url)
    urls = {"database": db_url or emb.database_url or "", "redis": redis_url or emb.redis_url or ""}
    try:
        yield urls
    finally:
        emb.stop()


@pytest.fixture(scope="session")
def database_url(servers: dict[str, str]) -> Iterator[str]:
    """A fresh database for this run, migrated with every first-party plugin."""
    name = f"shop_test_{uuid.uuid4().hex[:10]}"
    admin = servers["database"]

    run_async(create_database(admin, name))
    url = with_database(admin, name)
    run_async(_migrate_all(url))
    try:
        yield url
    finally:
        run_async(drop_database(admin, name))


async def _migrate_all(url: str) -> None:
    from tests.support import hello_plugin

    settings = base_settings(url, "redis://unused")
    _pm, loaded = discover(settings)
    _pm2, hello = discover(settings, [hello_plugin])
    rt = build_runtime(settings.with_(redis_url=None))
    await rt.db.start()
    try:
        await migrate(rt.db, migration_apps(settings, loaded + hello))
    finally:
        await rt.db.stop()


def base_settings(db_url: str, redis_url: str, **overrides: Any) -> Settings:
    env = {"SHOP_HOME": str(ROOT)}
    s = load_settings(env=env)
    # demo on: the suite tops up wallets and pays with test cards (tests of the gating switch it off).
    return s.with_(database_url=db_url, redis_url=redis_url, redis_prefix=f"t{uuid.uuid4().hex[:8]}:",
                   log_json=False, db_pool_max=10, demo=True, **overrides)


@pytest.fixture
def settings(database_url: str, servers: dict[str, str]) -> Settings:
    return base_settings(database_url, servers["redis"])


@pytest.fixture
def make_client(aiohttp_client: Any, settings: Settings) -> Callable[..., Any]:
    """``await make_client(plugins=None, **settings_overrides)`` -> aiohttp TestClient."""

    async def make(plugins: list[object] | None = None, settings_obj: Settings | None = None, **overrides: Any) -> Any:
        s = (settings_obj or settings).with_(**overrides)
        app = create_app(s, plugins)
        return await aiohttp_client(app)

    return make


def rt_of(client: Any) -> Runtime:
    return runtime_of(client.server.app)


@pytest.fixture
async def redis_client(servers: dict[str, str]) -> AsyncIterator[aioredis.Redis]:
    r = aioredis.Redis.from_url(servers["redis"])
    yield r
    await r.aclose()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """On CI a skipped test is a failure: every test must really run there."""
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") and skipped:
        terminalreporter.write_line(f"CI: {len(skipped)} test(s) were skipped; failing the run.", red=True)
        terminalreporter._session.exitstatus = 1


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("CI") and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = 1
