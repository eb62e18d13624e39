"""Readiness: can this instance serve its core?

``/readyz`` is 200 only when PostgreSQL answers, every migration of the kernel
and of each enabled plugin is applied, and every check a plugin contributed
(``shop_readiness_checks``; auth's ``signingKey``) passes. Redis down makes the
instance ``degraded``, not unready: the outage policy decides what requests get.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..storage.migrate import migration_status

log = logging.getLogger("shop.kernel.probes")

# The kernel's own checks and the other keys of the /readyz body.
RESERVED_CHECK_NAMES = frozenset({"postgres", "migrations", "redis", "ready", "status", "problems", "version"})
CHECK_TIMEOUT = 2.0  # seconds per check: a probe must answer before the orchestrator gives up


@dataclass(frozen=True)
class ReadinessCheck:
    """A named check a plugin contributes to ``/readyz``.

    ``probe()`` returns None when all is well, or a short operator-facing reason
    (it is shown in the public /readyz body: no secrets, no internals).
    """

    name: str
    probe: Callable[[], Awaitable[str | None]]


class Readiness:
    def __init__(self, rt: Any, apps: Callable[[], list[tuple[str, Path]]], checks: list[ReadinessCheck]) -> None:
        self.rt = rt
        self.apps = apps
        self.checks = checks
        self._migrated = False  # once all are applied they stay applied: stop asking

    async def _migrations(self) -> str | None:
        if self._migrated:
            return None
        _applied, pending = await migration_status(self.rt.db, self.apps())
        if pending:
            return f"{len(pending)} migration(s) pending: run `shop migrate`"
        self._migrated = True
        return None

    async def _run(self, probe: Callable[[], Awaitable[str | None]]) -> str | None:
        try:
            return await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        except TimeoutError:
            return "timed out"
        except Exception as exc:
            log.warning("readiness_check_failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return "failed"

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(ready, JSON body)."""
        rt = self.rt
        checks: dict[str, bool | None] = {}
        problems: dict[str, str] = {}
        checks["postgres"] = await rt.db.ping()
        if not checks["postgres"]:
            problems["postgres"] = "unreachable"
            checks["migrations"] = False
            problems["migrations"] = "unknown: PostgreSQL is unreachable"
        else:
            why = await self._run(self._migrations)
            checks["migrations"] = why is None
            if why:
                problems["migrations"] = why
        for check in self.checks:
            why = await self._run(check.probe)
            checks[check.name] = why is None
            if why:
                problems[check.name] = why
        if rt.redis is None:
            checks["redis"] = None
        else:
            checks["redis"] = await rt.redis.ping()
            if not checks["redis"]:
                problems["redis"] = "unreachable: cache, rate limits and sessions fall back per the outage policy"
        ready = all(ok for name, ok in checks.items() if name != "redis")
        status = "unready" if not ready else ("degraded" if checks["redis"] is False else "ready")
        body: dict[str, Any] = {"ready": ready, "status": status, **checks}
        if problems:
            body["problems"] = problems
        return ready, body
