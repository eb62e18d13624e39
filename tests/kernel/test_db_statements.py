"""Piccolo queries through the kernel's Database: the app's pool, the caller's transaction."""

from __future__ import annotations

import uuid

import pytest

from kernel.storage.db import Arg, Database, Statement, bind_tables
from tests.support.hello_plugin import Greeting


class Boom(Exception):
    pass


async def test_a_statement_compiles_once_and_runs_in_the_callers_transaction(database_url):
    db = Database(database_url, min_size=1, max_size=2)
    await db.start()
    bind_tables([Greeting], db)
    builds = 0

    def build():
        nonlocal builds
        builds += 1
        return Greeting.select(Greeting.count).where(Greeting.name == Arg("name"))

    counts = Statement(build)
    name = f"stmt-{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(Boom):
            async with db.transaction():
                await db.run(Greeting.insert(Greeting(name=name, count=3)))
                assert [r["count"] for r in await db.run(counts, name=name)] == [3]  # sees its own write
                raise Boom
        assert await db.run(counts, name=name) == []  # rolled back with the transaction
        await db.run(Greeting.insert(Greeting(name=name, count=5)))
        assert [r["count"] for r in await db.run(counts, name=name)] == [5]
        assert builds == 1 and '"hello_greeting"."name" = $1' in counts.sql
        with pytest.raises(TypeError, match="name"):
            await db.run(counts, nom=name)
    finally:
        await db.execute("DELETE FROM hello_greeting WHERE name = $1", name)
        await db.stop()
