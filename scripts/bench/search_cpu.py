#!/usr/bin/env python3
"""Database CPU per search: the service's relevance-search SQL, before and after bounded ranking.

Usage: search_cpu.py DATABASE_URL [N]   (a catalog seeded with `shop seed --demo --products ...`)

Runs N varied two-word queries (the vocabulary of k6/load/search.js) through one connection,
once with the exhaustive query (rank every match, window count), once with the bounded one
(plugins/catalog/search.py), and twice with what a search page costs since catalog v2: the
bounded page, its variants and the facets block, exact or sampled (plugins/catalog/facets.py),
and prints the CPU time the PostgreSQL backend used per query (read
from /proc, so the figure hardly depends on other load on the machine) and wall-clock percentiles.
Must run on the database's host.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from plugins.catalog import facets, rows, search
from plugins.catalog.filters import Filters
from plugins.catalog.rows import PRODUCT_COLS, PRODUCT_FROM

WORDS = ("novel cookbook atlas puzzle headphones speaker charger monitor mouse tripod knife teapot blanket lamp "
         "planter hammer drill tent backpack hoodie jacket sneakers boots shampoo kite ukulele notebook pen leash "
         "coffee tea chocolate honey classic compact deluxe handmade modern organic premium rustic vintage wireless "
         "nordic urban black white navy sand slate alder cobalt ember fjord granite harbor indigo juniper lumen "
         "quill").split()
Q = "websearch_to_tsquery('english', $1)"
LIKE = "lower(p.name) LIKE $2"
RANK = f"(ts_rank(p.search, {Q}) + CASE WHEN {LIKE} THEN 1.0 ELSE 0.0 END)"
WHERE = f"WHERE (p.search @@ {Q} OR {LIKE})"
EXHAUSTIVE = (f"SELECT {PRODUCT_COLS}, count(*) OVER () AS total_count FROM {PRODUCT_FROM} {WHERE} "
              f"ORDER BY {RANK} DESC, p.created_at DESC, p.id DESC LIMIT $3 OFFSET $4")
BOUNDED = search.bounded_sql(PRODUCT_COLS, WHERE, RANK, 2)
# (page SQL, bounded?, facets: None | "exact" | "sampled" (exact up to the cap, else over the candidates))
QUERIES = {
    "exhaustive": (EXHAUSTIVE, False, None),
    "bounded": (BOUNDED, True, None),
    "bounded + variants + exact facets": (BOUNDED, True, "exact"),
    "bounded + variants + sampled facets": (BOUNDED, True, "sampled"),
}


def cpu_ms(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


async def run(url: str, n: int) -> None:
    for name, (sql, bounded, facet_mode) in QUERIES.items():
        conn = await asyncpg.connect(url)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        walls = []
        c0 = cpu_ms(pid)
        for k in range(n):
            i = (k * 104729 + 7919) % (len(WORDS) ** 2)
            term = f"{WORDS[i % len(WORDS)]} {WORDS[i // len(WORDS)]}"
            args = [term, rows.like_prefix(term.lower()), *([search.CANDIDATES + 1] if bounded else []), 20, 0]
            t = time.perf_counter()
            records = await conn.fetch(sql, *args)
            if facet_mode is not None:  # what list_products adds since catalog v2 (facets on by default)
                await rows.variants_of(conn, (r["id"] for r in records))
                found = int(records[0]["cand_count"]) if records else 0
                sampled = facet_mode == "sampled" and found > search.CANDIDATES
                await facets.compute(conn, WHERE, args[:2], Filters(), None,
                                     search.CANDIDATES + 1 if sampled else None)
            walls.append((time.perf_counter() - t) * 1000)
        cpu = (cpu_ms(pid) - c0) / n
        await conn.close()
        walls.sort()
        print(f"{name}: {cpu:.2f} ms CPU/search; wall p50 {walls[n // 2]:.1f} ms, p99 {walls[int(n * 0.99)]:.1f} ms")


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000))
