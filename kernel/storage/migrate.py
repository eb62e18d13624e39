"""Migrations: Piccolo migration modules under ``migrations/<app>/``, run in plugin order.

Each module has Piccolo's shape (``ID``, ``VERSION``, ``DESCRIPTION`` and an async
``forwards()`` returning a ``MigrationManager``); its steps are ``add_raw`` callables,
usually :func:`sql`. The runner applies the kernel's own migrations first, then
each enabled plugin's in load order, each module once, recorded in Piccolo's
``migration`` table, under an advisory lock so that several processes starting
at once do not race. Running it again applies nothing: it is idempotent.
"""

from __future__ import annotations

import contextvars
import importlib.util
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from .db import Database

log = logging.getLogger("shop.kernel.migrate")

_current_db: contextvars.ContextVar[Database] = contextvars.ContextVar("shop_migrating_db")
_LOCK_ID = 0x5E0F_4B1D


def sql(statement: str) -> Callable[[], Awaitable[None]]:
    """A migration step that runs ``statement`` (may hold several statements)."""

    async def run() -> None:
        await _current_db.get().execute(statement)

    run.__doc__ = statement
    return run


def manager(migration_id: str, app_name: str, description: str, *steps: Callable[[], Awaitable[None]]) -> MigrationManager:
    m = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)
    for step in steps:
        m.add_raw(step)
    return m


def migration_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _load(path: Path, app: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"shop_migrations.{app}.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load migration {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr in ("ID", "forwards"):
        if not hasattr(module, attr):
            raise RuntimeError(f"migration {path} lacks {attr}")
    return module


async def migrate(db: Database, apps: list[tuple[str, Path]]) -> list[str]:
    """Apply pending migrations of ``apps`` (name, folder) in order; returns what ran."""
    applied: list[str] = []
    async with db.pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS migration (id SERIAL PRIMARY KEY, name VARCHAR(200) NOT NULL DEFAULT '', "
                "app_name VARCHAR(200) NOT NULL DEFAULT '', ran_on TIMESTAMP DEFAULT current_timestamp)"
            )
            done = {(r["app_name"], r["name"]) for r in await conn.fetch("SELECT app_name, name FROM migration")}
            for app, folder in apps:
                for path in migration_files(folder):
                    module = _load(path, app)
                    if (app, module.ID) in done:
                        continue
                    token = _current_db.set(db)
                    try:
                        async with db.transaction():
                            m = await module.forwards()
                            for step in m.raw:
                                result = step()
                                if inspect.isawaitable(result):
                                    await result
                            await db.execute("INSERT INTO migration (name, app_name) VALUES ($1, $2)", module.ID, app)
                    finally:
                        _current_db.reset(token)
                    applied.append(f"{app}:{module.ID}")
                    log.info("migration_applied", extra={"app": app, "id": module.ID,
                                                         "description": getattr(module, "DESCRIPTION", "")})
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied


_ids: dict[tuple[str, Path, float], str] = {}


def _migration_id(path: Path, app: str) -> str:
    """A module's ID, loading each file once (its mtime invalidates the memo)."""
    key = (app, path, path.stat().st_mtime)
    mid = _ids.get(key)
    if mid is None:
        mid = str(_load(path, app).ID)
        _ids[key] = mid
    return mid


async def migration_status(db: Database, apps: list[tuple[str, Path]]) -> tuple[list[str], list[str]]:
    """(applied, pending) as ``app:ID`` names, in the order ``migrate`` would run them."""
    exists = await db.fetchval("SELECT to_regclass('migration') IS NOT NULL")
    done: set[tuple[str, str]] = set()
    if exists:
        done = {(r["app_name"], r["name"]) for r in await db.fetch("SELECT app_name, name FROM migration")}
    applied: list[str] = []
    pending: list[str] = []
    for app, folder in apps:
        for path in migration_files(folder):
            mid = _migration_id(path, app)
            (applied if (app, mid) in done else pending).append(f"{app}:{mid}")
    return applied, pending
