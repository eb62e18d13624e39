"""Every plugin's Piccolo tables describe its migrated schema exactly.

``shop migrate`` runs on a fresh database; then, for every installed plugin's
``shop_tables``, each Table class is compared with ``information_schema``: the
columns and their order-free set, types (with lengths), nullability, defaults,
single-column unique constraints, the primary key, foreign keys (target table and
ON DELETE) and generated columns. Every plugin table in the database must be
described by some Table class (kernel tables are ``shop_*``).

Defaults: a column the database gives a default must have the same one in Piccolo
(``now()``/``clock_timestamp()`` = ``TimestamptzNow``, ``gen_random_uuid()`` =
``UUID4``, sequences = ``Serial``/``BigSerial``, literals equal); a nullable column
without one must default to None. Piccolo always fills NOT NULL columns itself, so
those are not compared when the database has no default.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from piccolo.columns import Column, ForeignKey
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.table import Table

from kernel.host.app import create_app, runtime_of
from kernel.host.loader import call_each
from kernel.host.plugin import PluginContext
from kernel.storage.columns import TSVector
from kernel.storage.db import Database, bind_tables
from tests.conftest import base_settings
from tests.support.live import LiveShop, run_async

KERNEL_PREFIX = "shop_"  # the kernel's own tables
PICCOLO_TABLES = {"migration"}  # Piccolo's record of applied migrations


@dataclass(frozen=True)
class DbColumn:
    type: str
    nullable: bool
    default: Any
    generated: bool


@dataclass
class DbTable:
    columns: dict[str, DbColumn]
    primary_key: list[str]
    uniques: set[str]  # single-column UNIQUE constraints
    foreign_keys: dict[str, tuple[str, str]]  # first referencing column -> (table, ON DELETE)


_SIMPLE_TYPES = {"text": "TEXT", "uuid": "UUID", "bigint": "BIGINT", "integer": "INTEGER", "smallint": "SMALLINT",
                 "boolean": "BOOLEAN", "bytea": "BYTEA", "jsonb": "JSONB", "json": "JSON", "date": "DATE",
                 "timestamp with time zone": "TIMESTAMPTZ", "timestamp without time zone": "TIMESTAMP",
                 "double precision": "DOUBLE PRECISION", "real": "REAL", "tsvector": "TSVECTOR"}
_ARRAY_BASES = {"_text": "TEXT", "_varchar": "VARCHAR", "_int4": "INTEGER", "_int8": "BIGINT", "_uuid": "UUID"}


def db_type(row: asyncpg.Record) -> str:
    kind, length = row["data_type"], row["character_maximum_length"]
    if kind == "character varying":
        return f"VARCHAR({length})" if length else "VARCHAR"
    if kind == "character":
        return f"CHAR({length})"
    if kind == "ARRAY":
        return _ARRAY_BASES.get(row["udt_name"], row["udt_name"]) + "[]"
    return _SIMPLE_TYPES.get(kind, kind.upper())


def db_default(expr: str | None) -> Any:
    if expr is None:
        return None
    if expr in ("now()", "CURRENT_TIMESTAMP", "clock_timestamp()"):
        return "<now>"
    if expr == "gen_random_uuid()":
        return "<uuid>"
    if expr.startswith("nextval("):
        return "<serial>"
    if expr in ("true", "false"):
        return expr == "true"
    if expr.lstrip("-").isdigit():
        return int(expr)
    if expr.startswith("'"):
        literal, _, cast = expr[1:].rpartition("'::")
        literal = literal.replace("''", "'")
        return [] if cast.endswith("[]") and literal == "{}" else literal
    return expr  # anything else must be spelled out by hand; it will not match


async def introspect(url: str) -> dict[str, DbTable]:
    conn = await asyncpg.connect(url)
    try:
        tables: dict[str, DbTable] = {}
        for r in await conn.fetch(
                "SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length, c.udt_name, "
                "c.is_nullable, c.column_default, c.is_generated FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY c.ordinal_position"):
            t = tables.setdefault(r["table_name"], DbTable({}, [], set(), {}))
            t.columns[r["column_name"]] = DbColumn(db_type(r), r["is_nullable"] == "YES", db_default(r["column_default"]),
                                                   r["is_generated"] == "ALWAYS")
        for r in await conn.fetch(
                "SELECT tc.table_name, tc.constraint_type, array_agg(k.column_name::text ORDER BY k.ordinal_position) "
                "AS cols, min(rc.delete_rule) AS delete_rule, min(cu.table_name) AS target "
                "FROM information_schema.table_constraints tc "
                "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name, table_name) "
                "LEFT JOIN information_schema.referential_constraints rc USING (constraint_schema, constraint_name) "
                "LEFT JOIN information_schema.constraint_table_usage cu USING (constraint_schema, constraint_name) "
                "WHERE tc.table_schema = 'public' AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') "
                "GROUP BY tc.table_name, tc.constraint_name, tc.constraint_type"):
            t = tables[r["table_name"]]
            cols = list(r["cols"])
            if r["constraint_type"] == "PRIMARY KEY":
                t.primary_key = cols
            elif r["constraint_type"] == "UNIQUE" and len(cols) == 1:
                t.uniques.add(cols[0])
            elif r["constraint_type"] == "FOREIGN KEY":
                t.foreign_keys[cols[0]] = (r["target"], r["delete_rule"])
        return tables
    finally:
        await conn.close()


def piccolo_type(col: Column) -> tuple[str, Any]:
    kind = col.column_type
    if kind in ("SERIAL", "BIGSERIAL"):
        return ("INTEGER" if kind == "SERIAL" else "BIGINT"), "<serial>"
    return kind, None


def piccolo_default(col: Column) -> Any:
    d = col.default
    if isinstance(d, TimestamptzNow):
        return "<now>"
    if isinstance(d, UUID4):
        return "<uuid>"
    if d is list or isinstance(d, list):
        return []
    if isinstance(d, enum.Enum):
        return d.value
    return d


def differences(table: type[Table], db: DbTable) -> list[str]:
    """What the Table class says that the database does not (empty: they agree)."""
    name = table._meta.tablename
    out: list[str] = []
    cols = {c._meta.db_column_name: c for c in table._meta.columns}
    if set(cols) != set(db.columns):
        out.append(f"{name}: columns only in Piccolo {sorted(set(cols) - set(db.columns))}, "
                   f"only in the database {sorted(set(db.columns) - set(cols))}")
    for col_name in sorted(set(cols) & set(db.columns)):
        col, real = cols[col_name], db.columns[col_name]
        where = f"{name}.{col_name}"
        kind, implied_default = piccolo_type(col)
        if kind != real.type:
            out.append(f"{where}: Piccolo {kind}, database {real.type}")
        if col._meta.null != real.nullable:
            out.append(f"{where}: Piccolo null={col._meta.null}, database nullable={real.nullable}")
        generated = isinstance(col, TSVector) and col.generated
        if generated != real.generated:
            out.append(f"{where}: Piccolo generated={generated}, database generated={real.generated}")
        default = implied_default or piccolo_default(col)
        if real.default is not None or real.nullable:
            if not real.generated and default != real.default:
                out.append(f"{where}: Piccolo default {default!r}, database default {real.default!r}")
        if col._meta.unique != (col_name in db.uniques):
            out.append(f"{where}: Piccolo unique={col._meta.unique}, database unique={col_name in db.uniques}")
        if isinstance(col, ForeignKey):
            target = col._foreign_key_meta.resolved_references._meta.tablename
            declared = (target, col._foreign_key_meta.on_delete.value)
            if db.foreign_keys.get(col_name) != declared:
                out.append(f"{where}: Piccolo references {declared}, database {db.foreign_keys.get(col_name)}")
        elif col_name in db.foreign_keys:
            out.append(f"{where}: the database references {db.foreign_keys[col_name]}; Piccolo has no ForeignKey")
    pk = table._meta.primary_key._meta.db_column_name
    # Piccolo names one primary-key column; for a composite key it must be one of its columns.
    if pk not in db.primary_key:
        out.append(f"{name}: Piccolo primary key {pk}, database {db.primary_key}")
    return out


@pytest.fixture(scope="module")
def migrated(servers: dict[str, str]) -> Iterator[tuple[dict[str, list[type[Table]]], dict[str, DbTable]]]:
    """Each installed plugin's tables, and the schema ``shop migrate`` made on a fresh database."""
    shop = LiveShop(servers["database"], servers["redis"])
    shop.create()  # runs `shop migrate`
    try:
        rt = runtime_of(create_app(base_settings(shop.db_url, servers["redis"])))

        def ctx(lp: Any) -> PluginContext:
            return PluginContext(name=lp.info.name, settings=rt.settings, config=lp.config, runtime=rt,
                                 log=logging.getLogger("test"))

        tables = {lp.info.name: list(found) for lp, found in call_each(rt.pm, rt.plugins, "shop_tables", ctx)}
        yield tables, run_async(introspect(shop.db_url))
    finally:
        shop.destroy()


def test_every_plugin_table_class_matches_the_migrated_schema(migrated):
    tables, db = migrated
    assert {"auth", "catalog", "orders", "wallet"} <= set(tables)
    problems = []
    for plugin, classes in tables.items():
        for table in classes:
            real = db.get(table._meta.tablename)
            if real is None:
                problems.append(f"{plugin}: {table._meta.tablename} is not in the migrated database")
            else:
                problems += [f"{plugin}: {p}" for p in differences(table, real)]
    assert not problems, "Piccolo tables and the database disagree:\n" + "\n".join(problems)


def test_every_plugin_table_in_the_database_has_a_table_class(migrated):
    tables, db = migrated
    described = {t._meta.tablename for classes in tables.values() for t in classes}
    undescribed = sorted(t for t in db if not t.startswith(KERNEL_PREFIX) and t not in PICCOLO_TABLES | described)
    assert not undescribed, f"tables no plugin's shop_tables describes: {undescribed}"


def test_the_comparison_notices_each_kind_of_drift(migrated):
    """The checker itself: a wrong type, nullability, default, unique or reference is reported."""
    from piccolo.columns import UUID, BigInt, Text, Timestamptz, Varchar

    _, db = migrated
    real = DbTable(
        columns={"id": DbColumn("UUID", False, "<uuid>", False), "name": DbColumn("TEXT", False, None, False),
                 "qty": DbColumn("BIGINT", False, 0, False), "at": DbColumn("TIMESTAMPTZ", True, None, False),
                 "ref": DbColumn("UUID", False, None, False)},
        primary_key=["id"], uniques={"name"}, foreign_keys={})

    class Drifted(Table, tablename="drifted"):
        id = UUID(primary_key=True)
        name = Varchar(length=10)  # type
        qty = BigInt(default=1)  # default
        at = Timestamptz(null=True)  # a nullable column defaulting to now()
        extra = Text()  # not in the database

    bind_tables([Drifted], Database("postgresql://unused@127.0.0.1/unused"))  # compiles, never connects
    found = "\n".join(differences(Drifted, real))
    for expected in ("drifted.name: Piccolo VARCHAR(10), database TEXT", "drifted.qty: Piccolo default 1",
                     "drifted.at: Piccolo default '<now>'", "drifted.name: Piccolo unique=False",
                     "only in Piccolo ['extra'], only in the database ['ref']"):
        assert expected in found, found
    assert db  # the real introspection found tables at all
