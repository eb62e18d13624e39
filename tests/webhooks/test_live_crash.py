"""At least once, for real: a live shop process is SIGKILLed and restarted while orders are placed and
a receiver on 127.0.0.1 fails intermittently; every event still arrives, every signature verifies."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live import PASSWORD, LiveShop, obtain_token

from .receiver import ThreadedReceiver

ORDERS = 9


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def flaky(n: int) -> int:
    """Every third request answers 500, every seventh drops the connection, the rest 200."""
    if n % 7 == 3:
        return 0
    return 500 if n % 3 == 1 else 200


@pytest.fixture
def receiver() -> Iterator[ThreadedReceiver]:
    r = ThreadedReceiver(plan=flaky, delay=0.05).start_in_thread()
    yield r
    r.stop_thread()


@pytest.fixture
def live(servers: dict[str, str], tmp_path: Path) -> Iterator[LiveShop]:
    config = tmp_path / "shop.toml"
    config.write_text("[plugins.webhooks]\nretry_base_ms = 200\nretry_max_seconds = 2\npoll_ms = 100\n"
                      "timeout_ms = 2000\n")
    # Short leases: what a killed process had claimed is retaken within seconds.
    shop = LiveShop(servers["database"], servers["redis"], env_extra={
        "SHOP_CONFIG": str(config), "SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1", "SHOP_OUTBOX_LEASE_SECONDS": "4"})
    shop.create()
    try:
        yield shop
    finally:
        shop.destroy()


@pytest.mark.slow
def test_every_event_is_delivered_signed_across_sigkills_and_receiver_failures(
        live: LiveShop, receiver: ThreadedReceiver) -> None:
    shop = live
    shop.start()
    shop.cli("users", "create", "--email", "admin@hooks.test", "--password", PASSWORD, "--admin")
    shop.cli("users", "create", "--email", "shopper@hooks.test", "--password", PASSWORD)
    admin = bearer(obtain_token(shop.base, "admin@hooks.test", scope="openid admin catalog:read")["access_token"])
    user = bearer(obtain_token(shop.base, "shopper@hooks.test")["access_token"])
    base = shop.base
    hook = httpx.post(f"{base}/api/admin/webhooks", headers=admin, json={
        "url": receiver.url, "events": ["order.created", "order.paid", "order.cancelled", "order.refunded",
                                        "product.created"]})
    assert hook.status_code == 201, hook.text
    receiver.secret = hook.json()["secret"]
    cat = httpx.post(f"{base}/api/admin/categories", headers=admin, json={"slug": "hooks", "name": "Hooks"}).json()
    product = httpx.post(f"{base}/api/admin/products", headers=admin, json={
        "slug": "hook-widget", "name": "Widget", "categoryId": cat["id"], "priceMinor": 300, "currency": "EUR",
        "stockQty": 1000}).json()
    r = httpx.post(f"{base}/api/wallets/top-up", headers=user, json={"currency": "EUR", "amountMinor": 100_000})
    assert r.status_code == 200, r.text

    expected: set[tuple[str, str]] = {("product.created", product["id"])}
    kills = 0
    for i in range(ORDERS):
        r = httpx.post(f"{base}/api/cart/items", headers=user, json={"productId": product["id"], "qty": 1 + i % 2})
        assert r.status_code in (200, 201), r.text
        r = httpx.post(f"{base}/api/orders/checkout", headers=user, json={"walletCurrency": "EUR"})
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]
        expected |= {("order.created", order_id), ("order.paid", order_id)}
        if i % 3 == 1:
            r = httpx.post(f"{base}/api/orders/{order_id}/cancel", headers=user)
            assert r.status_code == 200, r.text
            expected |= {("order.cancelled", order_id), ("order.refunded", order_id)}
        if i % 3 == 2:
            # Committed, probably not yet delivered: the process dies with no chance to clean up.
            shop.stop(shop.procs[0], sig=signal.SIGKILL)
            kills += 1
            shop.start()

    started = time.monotonic()
    deadline = started + 120
    got: set[tuple[str, str]] = set()
    while time.monotonic() < deadline:
        got = {(m.message["type"], m.message["data"]["id"]) for m in receiver.delivered()}
        if expected <= got:
            break
        time.sleep(0.2)
    print(f"all {len(expected)} events delivered {time.monotonic() - started:.1f} s after the last order; "
          f"{len(receiver.received)} requests")
    delivered = receiver.delivered()
    assert expected - got == set(), f"never delivered: {sorted(expected - got)}"
    assert all(m.verified for m in delivered), "a delivery with a bad signature"
    assert kills == ORDERS // 3
    # The receiver really failed some requests, and they were retried.
    assert any(r.status != 200 for r in receiver.received)
    status = shop.cli("events", "status", "--json")
    assert '"dead": 0' in status.stdout
