"""Attacks on the surfaces added with media, webhooks and catalog v2, over HTTP against a live server."""

from __future__ import annotations

import gzip
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
import redis

from plugins.testpay.provider import sign
from tests.hostile.conftest import Hostile
from tests.support.live import PASSWORD, USER_SCOPES, LiveShop, obtain_token


@pytest.fixture(scope="module")
def admin_token(hostile: Hostile) -> str:
    hostile.shop.cli("users", "create", "--email", "attack-admin@example.com", "--password", PASSWORD, "--admin")
    return str(obtain_token(hostile.base, "attack-admin@example.com", scope=USER_SCOPES + " admin addresses")["access_token"])


# ------------------------------------------------------------------ webhooks: SSRF

# Each of these reaches a loopback, link-local or private IPv4 address through an IPv6 form that
# Python's ``is_global`` calls public: IPv4-compatible, IPv4-translated, NAT64 (well-known and
# local-use prefixes), 6to4, and the deprecated site-local range.
IPV6_WRAPPED_PRIVATE = [
    "https://[::7f00:1]/h",
    "https://[::ffff:0:7f00:1]/h",
    "https://[64:ff9b::7f00:1]/h",
    "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",
    "https://[64:ff9b:1::a00:1]/h",
    "https://[2002:7f00:1::]/h",
    "https://[2002:a9fe:a9fe::1]/h",
    "https://[fec0::1]/h",
]


@pytest.mark.parametrize("url", IPV6_WRAPPED_PRIVATE)
def test_webhook_targets_hiding_a_private_ipv4_in_ipv6_are_refused(hostile: Hostile, admin_token: str,
                                                                    url: str) -> None:
    r = httpx.post(f"{hostile.base}/api/admin/webhooks", json={"url": url, "events": ["order.created"]},
                   headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "url"


def test_a_public_ipv6_webhook_target_is_still_accepted(hostile: Hostile, admin_token: str) -> None:
    """The check judges the embedded IPv4 address, it does not refuse NAT64 or 6to4 as such."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    for url in ("https://[64:ff9b::808:808]/h", "https://[2606:4700:4700::1111]/h"):
        r = httpx.post(f"{hostile.base}/api/admin/webhooks", json={"url": url, "events": ["order.created"]},
                       headers=auth, timeout=10)
        assert r.status_code == 201, r.text
        assert httpx.delete(f"{hostile.base}/api/admin/webhooks/{r.json()['id']}", headers=auth,
                            timeout=10).status_code == 200


# ------------------------------------------------------------------ bodies the server cannot decode


@pytest.mark.parametrize("path", ["/graphql", "/api/cart/items", "/api/admin/products/{pid}/images"])
def test_a_body_that_is_not_in_its_content_encoding_is_a_400(hostile: Hostile, admin_token: str, path: str) -> None:
    url = hostile.base + path.format(pid=hostile.product_id)
    headers = {"Authorization": f"Bearer {admin_token}", "Content-Encoding": "gzip"}
    if "images" in path:
        headers["Content-Type"] = "multipart/form-data; boundary=zz"
    else:
        headers["Content-Type"] = "application/json"
    r = httpx.post(url, content=b"this is not gzip", headers=headers, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "body"
    hostile.assert_alive()


def test_a_gzip_bomb_is_cut_at_the_body_limit(hostile: Hostile) -> None:
    bomb = gzip.compress(b'{"query":"' + b" " * 50_000_000 + b'{__typename}"}', 9)
    assert len(bomb) < 100_000
    r = httpx.post(f"{hostile.base}/graphql", content=bomb, timeout=30,
                   headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 413
    hostile.assert_alive()


# ------------------------------------------------------------------ catalog: cache-key explosion

TAG_CAP = 40


@pytest.fixture(scope="module")
def small_cache_shop(servers: dict[str, str]) -> Iterator[LiveShop]:
    """A second shop: a small cache tag cap, and webhooks to 127.0.0.1 allowed (for a local receiver)."""
    shop = LiveShop(servers["database"], servers["redis"], env_extra={
        "SHOP_CACHE_MAX_TAG_MEMBERS": str(TAG_CAP), "SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1"})
    shop.create()
    try:
        shop.start()
        yield shop
    finally:
        shop.destroy()


def test_distinct_anonymous_list_queries_cannot_grow_redis_without_bound(small_cache_shop: LiveShop) -> None:
    """Every filter value, price bound and page is part of a list's cache key: an anonymous client
    sending distinct ones made one Redis entry each (and one member of the ``products`` tag set,
    kept until the next catalog write). A full tag set now takes no new entries."""
    shop = small_cache_shop
    prefix = shop.env()["SHOP_REDIS_PREFIX"]
    r = redis.Redis.from_url(shop.redis_url)
    try:
        with httpx.Client(base_url=shop.base, timeout=10) as c:
            for i in range(3 * TAG_CAP):
                got = c.get("/api/products", params={"option.colour": f"attack-{i}-{secrets.token_hex(4)}",
                                                     "minPrice": i})
                assert got.status_code == 200, got.text
        entries = list(r.scan_iter(match=f"{prefix}c:products:v2:*", count=1000))
        assert 0 < len(entries) <= TAG_CAP
        assert r.scard(f"{prefix}t:products:v1") <= TAG_CAP
    finally:
        r.close()


# ------------------------------------------------------------------ webhooks: what a receiver answers


class _NulAnswer(BaseHTTPRequestHandler):
    """A receiver that accepts every delivery and answers with NUL bytes in its body."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b"ok\x00\x00 thanks"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_receiver_answering_nul_bytes_cannot_wedge_its_deliveries(small_cache_shop: LiveShop) -> None:
    """The response excerpt is logged in a text column: a NUL in it failed the INSERT, so the
    attempt was never recorded, the delivery never finished (sent again after every lease, past
    max_attempts, forever) and a manual redelivery was a 500."""
    shop = small_cache_shop
    shop.cli("users", "create", "--email", "hooks-admin@example.com", "--password", PASSWORD, "--admin")
    auth = {"Authorization": "Bearer " + obtain_token(shop.base, "hooks-admin@example.com",
                                                      scope=USER_SCOPES + " admin")["access_token"]}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NulAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with httpx.Client(base_url=shop.base, timeout=30, headers=auth) as c:
            hook = c.post("/api/admin/webhooks", json={"url": f"http://127.0.0.1:{server.server_port}/h",
                                                       "events": ["product.created"]})
            assert hook.status_code == 201, hook.text
            cat = c.post("/api/admin/categories", json={"slug": "nul-answers", "name": "NUL answers"})
            assert cat.status_code == 201, cat.text
            made = c.post("/api/admin/products", json={
                "categoryId": cat.json()["id"], "slug": "nul-answer", "name": "NUL answer", "description": "",
                "priceMinor": 100, "currency": "EUR", "stockQty": 1})
            assert made.status_code == 201, made.text
            deliveries: list[dict[str, Any]] = []
            for _ in range(300):  # the outbox and the worker poll; wait for the delivery to exist and finish
                deliveries = c.get(f"/api/admin/webhooks/{hook.json()['id']}/deliveries").json()
                if deliveries and deliveries[0]["state"] != "pending":
                    break
                time.sleep(0.1)
            assert deliveries, "no delivery was made"
            again = c.post(f"/api/admin/webhooks/{hook.json()['id']}/deliveries/{deliveries[0]['id']}/redeliver")
            assert again.status_code == 200, again.text
            assert deliveries[0]["state"] == "succeeded"
            excerpt = again.json()["attempts"][0]["responseExcerpt"]
            assert excerpt.startswith("ok") and "thanks" in excerpt and "\x00" not in excerpt
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ payments: the test provider's webhook


def test_the_documented_default_webhook_secret_cannot_pay_an_order(hostile: Hostile) -> None:
    """``testpay-webhook-secret`` is in the docs: a shop with a secret key must not accept webhooks
    signed with it, or anyone could mark any card order paid without paying."""
    with httpx.Client(base_url=hostile.base, timeout=30) as guest:
        assert guest.post("/api/guest-session").status_code == 200
        product = guest.get("/api/products", params={"pageSize": 1, "facets": "false", "inStock": "true"}
                            ).json()["items"][0]
        assert guest.post("/api/cart/items", json={"productId": product["id"], "qty": 1}).status_code in (200, 201)
        order = guest.post("/api/orders/checkout", json={
            "paymentMethod": "card", "currency": product["currency"], "email": "guest@example.com",
            "shippingAddress": {"name": "Eve", "line1": "1 Main St", "city": "Berlin", "country": "DE",
                                "postalCode": "10115"}})
        assert order.status_code == 201, order.text
    body = orjson.dumps({"type": "captured", "intentId": order.json()["payment"]["id"], "providerRef": "forged",
                         "brand": "visa", "last4": "4242"})
    forged = httpx.post(f"{hostile.base}/test-provider/webhooks", content=body, timeout=10,
                        headers={"Testpay-Signature": sign("testpay-webhook-secret", body),
                                 "Content-Type": "application/json"})
    assert forged.status_code == 401, forged.text
    status = httpx.get(f"{hostile.base}/api/guest-orders/{order.json()['orderLink']}", timeout=10).json()["status"]
    assert status == "awaiting_payment"


# ------------------------------------------------------------------ addresses


@pytest.mark.parametrize("field,value", [
    ("name", "Eve\r\n221B Baker Street"), ("line1", "1 Main St\nBcc: someone@example.com"),
    ("city", "Berlin\u2028Paris"), ("name", "\u202eevE"), ("line2", "tab\there"),
])
def test_an_address_field_is_one_line(hostile: Hostile, admin_token: str, field: str, value: str) -> None:
    """A saved or checkout address goes onto packing slips, mails and the admin's screen, one field a line."""
    address = {"name": "Eve", "line1": "1 Main St", "city": "Berlin", "country": "DE", "postalCode": "10115"}
    saved = httpx.post(f"{hostile.base}/api/me/addresses", json={**address, field: value}, timeout=10,
                       headers={"Authorization": f"Bearer {admin_token}"})
    assert saved.status_code == 400, saved.text
    assert saved.json()["errors"][0]["field"] == field
    with httpx.Client(base_url=hostile.base, timeout=30) as guest:
        assert guest.post("/api/guest-session").status_code == 200
        product = guest.get("/api/products", params={"pageSize": 1, "facets": "false", "inStock": "true"}
                            ).json()["items"][0]
        assert guest.post("/api/cart/items", json={"productId": product["id"], "qty": 1}).status_code in (200, 201)
        order = guest.post("/api/orders/checkout", json={
            "paymentMethod": "card", "currency": product["currency"], "email": "guest@example.com",
            "shippingAddress": {**address, field: value}})
        assert order.status_code == 400, order.text
        assert order.json()["errors"][0]["field"] == f"shippingAddress.{field}"


# ------------------------------------------------------------------ guest cookie


@pytest.fixture(scope="module")
def behind_tls_proxy(servers: dict[str, str]) -> Iterator[LiveShop]:
    """A shop whose public URL is https, reached over plain http as a TLS proxy would."""
    shop = LiveShop(servers["database"], servers["redis"], env_extra={
        "SHOP_PUBLIC_URL": "https://shop.example", "SHOP_ALLOW_DEMO_IN_PRODUCTION": "1"})
    shop.create()
    try:
        shop.start()
        yield shop
    finally:
        shop.destroy()


def test_the_guest_cookie_is_secure_behind_a_tls_proxy(behind_tls_proxy: LiveShop) -> None:
    """The guest cookie opens the guest's cart and checkout: like the sign-in session cookie, it is
    never sent over plain http when the shop's public URL is https."""
    r = httpx.post(f"{behind_tls_proxy.base}/api/guest-session", timeout=10)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("shop_guest=")
    assert "secure" in [part.strip().lower() for part in cookie.split(";")], cookie
