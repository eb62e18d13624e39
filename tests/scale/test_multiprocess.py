"""Nothing instance-local: two real server processes on one PostgreSQL and Redis."""

from __future__ import annotations

import signal
import time

import httpx

from tests.support.live import PASSWORD, LiveShop, free_port, obtain_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def setup_users(shop: LiveShop) -> tuple[str, str]:
    shop.cli("users", "create", "--email", "admin@scale.test", "--password", PASSWORD, "--admin")
    shop.cli("users", "create", "--email", "shopper@scale.test", "--password", PASSWORD)
    admin = obtain_token(shop.base, "admin@scale.test", scope="openid admin catalog:read")["access_token"]
    user = obtain_token(shop.base, "shopper@scale.test")["access_token"]
    return admin, user


def test_sessions_rate_limits_idempotency_and_cache_work_across_processes(live_shop: LiveShop):
    shop = live_shop
    shop.env_extra["SHOP_RATE_LIMIT_MONEY"] = "3/60"
    shop.start()  # process A on the public port (the issuer)
    port_b = free_port()
    shop.start(port=port_b)  # process B
    a, b = shop.base, f"http://127.0.0.1:{port_b}"
    admin, user = setup_users(shop)

    # Cache invalidation: a price change on A is visible on B at once.
    cat = httpx.post(f"{a}/api/admin/categories", json={"slug": "scale", "name": "Scale"}, headers=bearer(admin))
    assert cat.status_code == 201, cat.text
    prod = httpx.post(f"{a}/api/admin/products", headers=bearer(admin), json={
        "slug": "scale-widget", "name": "Widget", "categoryId": cat.json()["id"], "priceMinor": 1000,
        "currency": "EUR", "stockQty": 5}).json()
    assert httpx.get(f"{b}/api/products/scale-widget").json()["priceMinor"] == 1000  # cached on B now
    assert httpx.get(f"{b}/api/products/scale-widget").headers["X-Cache"] in ("local", "redis")
    r = httpx.put(f"{a}/api/admin/products/{prod['id']}/price", headers=bearer(admin),
                  json={"priceMinor": 1250, "currency": "EUR"})
    assert r.status_code == 200, r.text
    seen = None
    for _ in range(50):
        seen = httpx.get(f"{b}/api/products/scale-widget").json()["priceMinor"]
        if seen == 1250:
            break
        time.sleep(0.02)
    assert seen == 1250

    # Idempotency: the same key on A then B moves money once.
    key = {"Idempotency-Key": "scale-topup-1", **bearer(user)}
    r1 = httpx.post(f"{a}/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 500}, headers=key)
    r2 = httpx.post(f"{b}/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 500}, headers=key)
    assert r1.status_code == r2.status_code == 200 and r1.content == r2.content
    wallets = httpx.get(f"{b}/api/wallets", headers=bearer(user)).json()
    assert [w["balanceMinor"] for w in wallets if w["currency"] == "EUR"] == [500]

    # Rate limits are shared: 3 money calls per minute in total, whichever process answers.
    statuses = []
    for i, base in enumerate([a, b, a]):
        r = httpx.post(f"{base}/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1},
                       headers={**bearer(user), "Idempotency-Key": f"rl-{i}"})
        statuses.append(r.status_code)
    # r1 and its replay r2 each counted (limits come before idempotency), so one call is left.
    assert statuses == [200, 429, 429]
    assert "Retry-After" in r.headers

    # Sessions: signed in through A's pages, recognised by B.
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(f"{a}/auth/login")
        assert page.status_code == 200 and "password" in page.text
        import re
        from html import unescape

        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        form = {k: unescape(v) for k, v in form.items()}
        form.update(email="shopper@scale.test", password=PASSWORD)
        done = browser.post(str(page.url), data=form)
        assert done.status_code == 200
        state_b = browser.get(f"{b}/auth/session").json()
        assert state_b["authenticated"] is True and state_b["user"]["email"] == "shopper@scale.test"


def test_workers_share_one_port_and_drain_on_sigterm(live_shop: LiveShop):
    shop = live_shop
    proc = shop.start(workers=2)
    instances = set()
    with httpx.Client(timeout=10) as c:
        for _ in range(200):
            instances.add(c.get(f"{shop.base}/healthz", headers={"Connection": "close"}).json()["instance"])
            if len(instances) == 2:
                break
    assert len(instances) == 2, "both worker processes should answer on the shared port"

    # A request in flight when SIGTERM arrives is finished, not cut: hold a row lock
    # that the request needs (its idempotency key), signal, then let it through.
    import asyncio
    import socket as socketlib
    import threading

    import asyncpg

    shop.cli("users", "create", "--email", "drain@scale.test", "--password", PASSWORD)
    token = obtain_token(shop.base, "drain@scale.test")["access_token"]
    me = httpx.get(f"{shop.base}/api/me", headers=bearer(token)).json()
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(shop.db_url))
    tx = conn.transaction()
    loop.run_until_complete(tx.start())
    loop.run_until_complete(conn.execute(
        "INSERT INTO shop_idempotency (scope, key, method, request_hash) VALUES ($1, 'drain-1', 'x', 'x')", me["id"]))
    result: dict[str, httpx.Response] = {}

    def top_up() -> None:
        result["r"] = httpx.post(f"{shop.base}/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 700},
                                 headers={**bearer(token), "Idempotency-Key": "drain-1"}, timeout=30)

    worker = threading.Thread(target=top_up)
    worker.start()
    time.sleep(0.5)  # the request is now waiting on our lock inside the server
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert proc.poll() is None  # still draining
    loop.run_until_complete(tx.rollback())
    loop.run_until_complete(conn.close())
    loop.close()
    worker.join(timeout=30)
    assert result["r"].status_code == 200, result["r"].text
    assert result["r"].json()["balanceMinor"] == 700
    proc.wait(timeout=30)
    assert proc.returncode == 0
    # And the port is closed afterwards: nothing left accepting connections.
    try:
        socketlib.create_connection(("127.0.0.1", shop.public_port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    assert refused
