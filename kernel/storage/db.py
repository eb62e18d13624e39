"""PostgreSQL through Piccolo's engine (asyncpg underneath).

Plugins declare Piccolo tables and migrations; queries on the hot path go through
this thin wrapper, which runs them on the connection of the current Piccolo
transaction when there is one (Piccolo keeps it in a context variable), so that
calls made by different plugins inside one ``async with db.transaction()`` share it.

``after_commit`` callbacks registered inside a transaction run once the outermost
transaction has committed, and are dropped on rollback: events are built on it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from ..core.status import BusError, Status

log = logging.getLogger("shop.kernel.db")

AfterCommit = Callable[[], Awaitable[None]]

# Postgres errors that mean "the database is not there right now".
_UNAVAILABLE = (
    OSError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def unavailable(exc: BaseException) -> BusError:
    return BusError(Status.UNAVAILABLE, "The database is unavailable; try again shortly.", retry_after=2)


class _Transaction(PostgresTransaction):
    """Piccolo's transaction, but the connection always goes back to the pool.

    Piccolo releases the connection only after a successful COMMIT or ROLLBACK; when
    COMMIT itself fails (a deferred constraint, a serialization failure, the server
    going away) the connection would leak and the pool would slowly run dry.
    """

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    try:
                        await self.rollback()  # type: ignore[no-untyped-call]
                    except Exception:
                        log.warning("rollback_failed")
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[no-untyped-call]
        finally:
            try:
                if self.engine.pool:
                    await self.engine.pool.release(self.connection)
                else:
                    await self.connection.close()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


class _Engine(PostgresEngine):
    """Piccolo's engine without its connect-at-construction checks.

    Piccolo checks the server version (and prepares extensions) synchronously in
    ``__init__``, which costs a connection per app and fails when the database is
    not up yet; the kernel checks readiness through /readyz instead.
    """

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _Transaction(engine=self, allow_nested=allow_nested)


async def _no_session_reset(conn: asyncpg.Connection) -> None:
    """asyncpg's default reset is a round trip (RESET ALL, UNLISTEN, ...) on every release.

    The shop keeps no session state on pooled connections (transactions end before
    release, asyncpg rolls back any that did not), so there is nothing to reset.
    """


def compile_query(query: Any) -> tuple[str, list[Any]]:
    """A Piccolo query as (SQL with $n placeholders, arguments)."""
    strings = query.querystrings
    if len(strings) != 1:
        raise TypeError(f"{type(query).__name__} compiles to {len(strings)} statements; run it in a transaction")
    sql, args = strings[0].compile_string(engine_type="postgres")
    return sql, list(args)


@dataclass(frozen=True, slots=True)
class Arg:
    """A named value left open in a :class:`Statement`'s query."""

    name: str


class Statement:
    """A Piccolo query compiled to SQL once, on first use, then run with named values.

    Building and compiling a Piccolo query costs about as much CPU as the round trip it
    makes; a statement pays it once, so the query builder costs nothing per call::

        LIST = Statement(lambda: Account.select(Account.id).where(Account.owner == Arg("owner")))
        rows = await db.run(LIST, owner=user_id)
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._compiled: tuple[str, list[Any], frozenset[str]] | None = None

    def _compile(self) -> tuple[str, list[Any], frozenset[str]]:
        if self._compiled is None:
            sql, args = compile_query(self._build())
            self._compiled = sql, args, frozenset(a.name for a in args if isinstance(a, Arg))
        return self._compiled

    @property
    def sql(self) -> str:
        return self._compile()[0]

    def bind(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, args, names = self._compile()
        if values.keys() != names:
            raise TypeError(f"statement takes {sorted(names)}, got {sorted(values)}")
        return sql, [values[a.name] if isinstance(a, Arg) else a for a in args]


def bind_tables(tables: Any, db: Database) -> None:
    """Point Piccolo tables at ``db``'s engine (needed to compile their queries).

    Run queries with :meth:`Database.run`, not Piccolo's ``.run()``: several apps (and
    so engines) can live in one process, and ``Database.run`` uses the caller's.
    """
    for table in tables:
        table._meta.db = db.engine


class Database:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 20) -> None:
        self.url = url
        self.engine: PostgresEngine = _Engine(config={"dsn": url}, extensions=())
        self._pool_args = {"min_size": min_size, "max_size": max_size}
        self._after_commit: contextvars.ContextVar[list[AfterCommit] | None] = contextvars.ContextVar(
            "shop_after_commit", default=None
        )

    @property
    def safe_url(self) -> str:
        """The URL without its password, for logs and pages."""
        parsed = urlparse(self.url)
        if parsed.password:
            return self.url.replace(f":{parsed.password}@", ":***@")
        return self.url

    async def start(self) -> None:
        await self.engine.start_connection_pool(
            **self._pool_args, command_timeout=30, server_settings={"application_name": "shopkernel"},
            reset=_no_session_reset,
        )

    async def stop(self) -> None:
        if self.engine.pool is not None:
            await self.engine.close_connection_pool()

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.engine.pool is not None, "database pool not started"
        return self.engine.pool

    def _tx_connection(self) -> asyncpg.Connection | None:
        tx = self.engine.current_transaction.get()
        return None if tx is None else tx.connection

    @property
    def in_transaction(self) -> bool:
        return self.engine.current_transaction.get() is not None

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = self._tx_connection()
        try:
            if conn is not None:
                return await conn.fetch(sql, *args)  # type: ignore[no-any-return]
            async with self.pool.acquire() as c:
                return await c.fetch(sql, *args)  # type: ignore[no-any-return]
        except _UNAVAILABLE as exc:
            raise unavailable(exc) from exc

    async def run(self, query: Any, **values: Any) -> list[asyncpg.Record]:
        """Run a Piccolo query (``Table.select()``, ``.insert()``, ...) or a :class:`Statement`.

        Compiled to one SQL statement and run like :meth:`fetch`: on this database's pool,
        inside the current transaction. Rows come back as asyncpg records, not Piccolo's dicts.
        ``values`` fill a statement's :class:`Arg` placeholders.
        """
        sql, args = query.bind(values) if isinstance(query, Statement) else compile_query(query)
        return await self.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any, command_timeout: float | None = None) -> str:
        """``command_timeout``: seconds for this statement instead of the pool's 30 (bulk loads, index builds)."""
        conn = self._tx_connection()
        try:
            if conn is not None:
                return await conn.execute(sql, *args, timeout=command_timeout)  # type: ignore[no-any-return]
            async with self.pool.acquire() as c:
                return await c.execute(sql, *args, timeout=command_timeout)  # type: ignore[no-any-return]
        except _UNAVAILABLE as exc:
            raise unavailable(exc) from exc

    async def claim_due(self, select_sql: str, limit: int, table: str, lease_seconds: float,
                        key: str = "id") -> list[asyncpg.Record]:
        """Rows due for a retry, each claimed for ``lease_seconds`` (its ``retry_at`` moved on).

        ``select_sql`` takes the limit as $1 and locks with ``FOR UPDATE ... SKIP LOCKED``, so
        concurrent processes claim disjoint batches; ``key`` is the column holding ``table``'s id.
        A claim whose worker dies is simply due again once the lease has passed.
        """
        async with self.transaction():
            rows = await self.fetch(select_sql, limit)
            if rows:
                await self.execute(f"UPDATE {table} SET retry_at = now() + make_interval(secs => $2) "
                                   "WHERE id = ANY($1)", [r[key] for r in rows], float(lease_seconds))
        return rows

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A transaction; nested uses join the outer one (Piccolo's semantics)."""
        if self.in_transaction:
            yield
            return
        callbacks: list[AfterCommit] = []
        token = self._after_commit.set(callbacks)
        try:
            try:
                async with self.engine.transaction():
                    yield
            except _UNAVAILABLE as exc:
                raise unavailable(exc) from exc
        finally:
            self._after_commit.reset(token)
        for cb in callbacks:
            try:
                await cb()
            except Exception:
                log.exception("after_commit_failed")

    def after_commit(self, callback: AfterCommit) -> bool:
        """Run ``callback`` after the current transaction commits.

        Returns False when no transaction is open (the caller should run it now).
        """
        callbacks = self._after_commit.get()
        if callbacks is None or not self.in_transaction:
            return False
        callbacks.append(callback)
        return True

    async def ping(self) -> bool:
        try:
            async with self.pool.acquire(timeout=2) as c:
                await c.fetchval("SELECT 1", timeout=2)
            return True
        except Exception:
            return False
