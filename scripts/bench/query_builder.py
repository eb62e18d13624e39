#!/usr/bin/env python3
"""Piccolo's query builder against hand-written SQL, on the queries converted to it.

For each query, three ways to run it on the same pool, interleaved in rounds so that
machine noise hits all alike: hand-written SQL; the Piccolo query built and compiled
on every call; a ``kernel.storage.db.Statement`` (built and compiled once). Prints the median
microseconds per call over the rounds. docs/architecture.md (Storage) quotes the result.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python scripts/bench/query_builder.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kernel.storage.db import Arg, Database, Statement, bind_tables  # noqa: E402
from plugins.wallet.tables import WalletAccount as W  # noqa: E402
from tests.support.live import LiveShop  # noqa: E402

CALLS, ROUNDS = 500, 7


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        await fn()
    return (time.perf_counter() - start) / CALLS * 1e6


async def main(url: str) -> None:
    db = Database(url, min_size=1, max_size=1)
    await db.start()
    bind_tables([W], db)
    owner = str(uuid.uuid4())
    for currency in ("EUR", "USD", "JPY"):
        await db.execute("INSERT INTO wallet_accounts (kind, owner, currency) VALUES ('user', $1, $2)", owner, currency)

    def built() -> Any:
        return W.select(W.id, W.currency, W.balance_minor).where((W.kind == "user") & (W.owner == owner)).order_by(
            W.currency)

    statement = Statement(lambda: W.select(W.id, W.currency, W.balance_minor).where(
        (W.kind == "user") & (W.owner == Arg("owner"))).order_by(W.currency))
    ways: dict[str, Callable[[], Awaitable[Any]]] = {
        "hand-written SQL": lambda: db.fetch("SELECT id, currency, balance_minor FROM wallet_accounts "
                                             "WHERE kind = 'user' AND owner = $1 ORDER BY currency", owner),
        "query builder, built per call": lambda: db.run(built()),
        "query builder, Statement": lambda: db.run(statement, owner=owner),
    }
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, fn in ways.items():
            results[name].append(await timed(fn))
    await db.stop()
    print(f"list a user's wallets (3 rows), {CALLS} calls x {ROUNDS} rounds, median us/call:")
    for name, samples in results.items():
        print(f"  {name:32} {statistics.median(samples):8.1f}")


if __name__ == "__main__":
    shop = LiveShop(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    shop.create()  # a fresh, migrated database
    try:
        asyncio.run(main(shop.db_url))
    finally:
        shop.destroy()
