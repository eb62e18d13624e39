"""Keep selling through faults and lose nothing.

The shop runs as real processes on a PostgreSQL and a Valkey that belong to this
test, under a steady checkout and browsing load from the test process. Redis and
PostgreSQL are stopped and restarted, and a server process is SIGKILLed in the
middle of checkouts; afterwards every order a client was told about exists, none
exists twice, stock and money add up, and `shop ledger verify` is clean.
"""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tests.support.faults import KillableServices
from tests.support.live import PASSWORD, LiveShop, obtain_token, run_async

USERS = 4
STOCK = 100_000
PRICE = 250
TOP_UP = 5_000_000


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Load:
    base: str
    tokens: list[str]
    slug: str
    product_id: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    orders: dict[str, str] = field(default_factory=dict)  # idempotency key -> order id
    statuses: list[tuple[float, str, int]] = field(default_factory=list)
    missing_retry_after: list[int] = field(default_factory=list)

    def record(self, kind: str, status: int, headers: httpx.Headers | None = None) -> None:
        with self.lock:
            self.statuses.append((time.monotonic(), kind, status))
            if status == 503 and headers is not None and "Retry-After" not in headers:
                self.missing_retry_after.append(status)

    def checkout_loop(self, token: str) -> None:
        with httpx.Client(base_url=self.base, timeout=10, headers=bearer(token)) as c:
            while not self.stop.is_set():
                key = uuid.uuid4().hex
                # A shopper retries the same checkout (same key) until it gets an answer.
                for _attempt in range(200):
                    if self.stop.is_set():
                        break
                    try:
                        add = c.post("/api/cart/items", json={"productId": self.product_id, "qty": 1})
                        self.record("cart", add.status_code, add.headers)
                        if add.status_code >= 500 and add.status_code != 503:
                            pass
                        r = c.post("/api/orders/checkout", json={"walletCurrency": "EUR"},
                                   headers={"Idempotency-Key": key})
                    except httpx.HTTPError:
                        self.record("checkout", -1)
                        time.sleep(0.1)
                        continue
                    self.record("checkout", r.status_code, r.headers)
                    if r.status_code == 201:
                        with self.lock:
                            self.orders[key] = r.json()["id"]
                        break
                    if r.status_code == 409 and r.json().get("reason") == "CART_EMPTY":
                        break  # an earlier attempt with this key already bought the cart's contents
                    time.sleep(0.1)

    def browse_loop(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as c:
            while not self.stop.is_set():
                try:
                    r = c.get(f"/api/products/{self.slug}")
                    self.record("read", r.status_code, r.headers)
                except httpx.HTTPError:
                    self.record("read", -1)
                time.sleep(0.02)

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.checkout_loop, args=(t,), daemon=True) for t in self.tokens]
        threads.append(threading.Thread(target=self.browse_loop, daemon=True))
        for t in threads:
            t.start()
        return threads

    def window(self, kind: str, start: float, end: float) -> list[int]:
        with self.lock:
            return [s for ts, k, s in self.statuses if k == kind and start <= ts <= end]


@pytest.fixture
def faulty(tmp_path) -> Iterator[tuple[KillableServices, LiveShop]]:
    services = KillableServices(tmp_path / "servers")
    shop = LiveShop(services.database_url, services.redis_url,
                    env_extra={"SHOP_RATE_LIMIT_OUTAGE": "allow"})
    shop.create()
    try:
        yield services, shop
    finally:
        try:
            shop.destroy()
        finally:
            services.close()


def prepare(shop: LiveShop) -> Load:
    shop.cli("users", "create", "--email", "admin@faults.test", "--password", PASSWORD, "--admin")
    admin = obtain_token(shop.base, "admin@faults.test", scope="openid admin")["access_token"]
    cat = httpx.post(f"{shop.base}/api/admin/categories", json={"slug": "faults", "name": "Faults"},
                     headers=bearer(admin)).json()
    prod = httpx.post(f"{shop.base}/api/admin/products", headers=bearer(admin), json={
        "slug": "fault-tolerant-mug", "name": "Fault-tolerant mug", "categoryId": cat["id"], "priceMinor": PRICE,
        "currency": "EUR", "stockQty": STOCK}).json()
    tokens = []
    for i in range(USERS):
        email = f"shopper{i}@faults.test"
        shop.cli("users", "create", "--email", email, "--password", PASSWORD)
        token = obtain_token(shop.base, email)["access_token"]
        r = httpx.post(f"{shop.base}/api/wallets/top-up", json={"currency": "EUR", "amountMinor": TOP_UP},
                       headers=bearer(token))
        assert r.status_code == 200, r.text
        tokens.append(token)
    return Load(shop.base, tokens, prod["slug"], prod["id"])


def wait_ready(base: str, timeout: float = 40, status: str | None = None) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            r = httpx.get(f"{base}/readyz", timeout=2)
            if r.status_code == 200 and (status is None or r.json()["status"] == status):
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not recover within {timeout} s")


async def audit(db_url: str, load: Load) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        orders = await conn.fetch("SELECT id::text, status, total_minor FROM orders_order")
        ids = {r["id"] for r in orders}
        told = set(load.orders.values())
        assert told <= ids, f"orders confirmed to clients but missing: {told - ids}"
        assert len(told) == len(load.orders), "two idempotency keys were answered with the same order"
        assert ids == told, f"orders nobody was told about (double charge or lost reply): {ids - told}"
        sold = await conn.fetchval("SELECT COALESCE(sum(qty), 0) FROM orders_order_item")
        stock = await conn.fetchval("SELECT sum(v.stock_qty) FROM catalog_variant v JOIN catalog_product p "
                                    "ON p.id = v.product_id WHERE p.slug = $1", load.slug)
        assert stock + sold == STOCK
        paid = sum(r["total_minor"] for r in orders)
        balances = await conn.fetchval(
            "SELECT COALESCE(sum(balance_minor), 0) FROM wallet_accounts WHERE kind = 'user' AND currency = 'EUR'")
        assert balances + paid == USERS * TOP_UP
    finally:
        await conn.close()


def ledger_verify(shop: LiveShop) -> None:
    out = shop.cli("ledger", "verify", check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_redis_and_postgres_outages_under_load_lose_nothing(faulty):
    services, shop = faulty
    shop.start()
    load = prepare(shop)
    threads = load.run()
    try:
        time.sleep(3)

        # Redis goes away: reads fall back to PostgreSQL, checkouts with Bearer tokens go on.
        t0 = time.monotonic()
        services.stop_redis()
        time.sleep(4)
        # Degraded, not unready: the instance still serves (reads from PostgreSQL, checkouts).
        ready = httpx.get(f"{shop.base}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded" and ready.json()["redis"] is False
        t1 = time.monotonic()
        services.start_redis()
        recovered_redis = wait_ready(shop.base, status="ready")
        reads = load.window("read", t0 + 1, t1)
        checkouts = load.window("checkout", t0 + 1, t1)
        assert reads and set(reads) == {200}, sorted(set(reads))
        assert 201 in checkouts and set(checkouts) <= {201, 409}, sorted(set(checkouts))

        time.sleep(2)
        # PostgreSQL goes away: clear 503s with Retry-After, /readyz false, then recovery.
        t2 = time.monotonic()
        services.stop_postgres()
        time.sleep(3)
        ready = httpx.get(f"{shop.base}/readyz")
        assert ready.status_code == 503 and ready.json()["postgres"] is False
        t3 = time.monotonic()
        services.start_postgres()
        recovered_pg = wait_ready(shop.base)
        during = load.window("checkout", t2 + 0.5, t3)
        assert 503 in during and not any(s == 500 for s in during), sorted(set(during))
        assert not load.missing_retry_after
        time.sleep(3)
        after = load.window("checkout", time.monotonic() - 2, time.monotonic())
        assert 201 in after, "checkouts should work again without a restart"
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not any(s == 500 for _ts, _k, s in load.statuses)
    assert len(load.orders) > 10
    run_async(audit(shop.db_url, load))
    ledger_verify(shop)
    print(f"redis recovered in {recovered_redis:.1f}s, postgres in {recovered_pg:.1f}s, orders {len(load.orders)}")


def test_sigkill_in_the_middle_of_checkouts_leaves_no_partial_order(faulty):
    _services, shop = faulty
    proc = shop.start()
    load = prepare(shop)
    threads = load.run()
    try:
        time.sleep(3)
        for _ in range(3):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            shop.procs.remove(proc)
            shop.ports.remove(shop.public_port)
            time.sleep(random.uniform(0.2, 0.8))
            proc = shop.start()
            time.sleep(2)
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
    assert len(load.orders) > 10
    run_async(audit(shop.db_url, load))
    ledger_verify(shop)
