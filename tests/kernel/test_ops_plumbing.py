"""Operator plumbing on a real `shop serve`: request ids on every log line of a request,
the real status of static files in logs and metrics, live cache and Redis metrics,
pub/sub channels that keep shops apart, and disabled plugins' commands."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kernel.storage.redis_link import RedisLink
from tests.support.live import PASSWORD, LiveShop, obtain_token


@pytest.fixture(scope="module")
def shop(servers: dict[str, str]) -> Iterator[LiveShop]:
    live = LiveShop(servers["database"], servers["redis"], env_extra={"SHOP_LOG_LEVEL": "INFO"})
    live.create()
    live.cli("users", "create", "--email", "ops@example.test", "--password", PASSWORD)
    live.start()
    try:
        yield live
    finally:
        live.destroy()


def _log_lines(shop: LiveShop) -> list[dict[str, Any]]:
    out = []
    for line in shop.log_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_every_log_line_inside_a_request_carries_its_request_id(shop):
    obtain_token(shop.base, "ops@example.test")
    lines = _log_lines(shop)
    signed_in = [entry for entry in lines if entry.get("event") == "user_signed_in"]
    assert signed_in, "the sign-in logs an event from inside the request"
    for entry in signed_in:
        rid = entry.get("request_id")
        assert rid and re.fullmatch(r"[0-9a-f]{32}", rid)
        access = [e for e in lines if e.get("logger") == "shop.kernel.access" and e.get("request_id") == rid]
        assert len(access) == 1 and access[0]["path"] == "/oauth/authorize" and access[0]["method"] == "POST"
    # A caller's own id is used end to end.
    mine = f"trace-{uuid.uuid4().hex[:8]}"
    assert httpx.get(f"{shop.base}/api/products", headers={"X-Request-Id": mine}).headers["X-Request-Id"] == mine
    assert any(e.get("request_id") == mine for e in _log_lines(shop))
    outside = [e for e in lines if e.get("event") == "shop_started"]
    assert outside and "request_id" not in outside[0], "lines outside a request have none"


def test_static_files_are_logged_and_counted_with_the_status_really_sent(shop):
    url = f"{shop.base}/assets/js/app.js"
    first = httpx.get(url)
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert httpx.get(url, headers={"If-None-Match": tag}).status_code == 304
    assert httpx.get(url, headers={"Range": "bytes=0-9"}).status_code == 206
    assert httpx.get(f"{shop.base}/assets/js/no-such-file.js").status_code == 404
    logged = {(e["path"], e["status"]) for e in _log_lines(shop) if e.get("logger") == "shop.kernel.access"}
    assert {("/assets/js/app.js", 200), ("/assets/js/app.js", 304), ("/assets/js/app.js", 206)} <= logged
    assert ("/assets/js/no-such-file.js", 404) in logged
    metrics = httpx.get(f"{shop.base}/metrics").text
    for status in ("200", "304", "206"):
        assert _metric(metrics, "shop_http_request_duration_seconds_count", route="/assets", status=status) >= 1


def test_cache_and_redis_metrics_are_live(shop):
    before = httpx.get(f"{shop.base}/metrics").text
    for _ in range(3):
        assert httpx.get(f"{shop.base}/api/categories").status_code == 200
    after = httpx.get(f"{shop.base}/metrics").text
    lookups = sum(_metric(after, "shop_cache_lookups_total", result=r) for r in ("local_hit", "redis_hit", "miss"))
    lookups_before = sum(_metric(before, "shop_cache_lookups_total", result=r)
                         for r in ("local_hit", "redis_hit", "miss"))
    assert lookups - lookups_before >= 3
    assert _metric(after, "shop_cache_lookups_total", result="local_hit") >= 1
    assert re.search(r"^shop_redis_up 1\.0$", after, re.M)


async def test_pubsub_channels_are_namespaced_by_prefix_and_database(servers):
    base = servers["redis"].rsplit("/", 1)[0]
    prefix = f"ns{uuid.uuid4().hex[:6]}:"
    db0, db1, other_db1 = RedisLink(f"{base}/0", prefix), RedisLink(f"{base}/1", prefix), RedisLink(f"{base}/1", prefix)
    other_prefix = RedisLink(f"{base}/1", prefix + "x:")
    heard: list[bytes] = []

    async def on_event(payload: bytes) -> None:
        heard.append(payload)

    db1.subscribe("events", on_event)
    await db1.start_listener()
    try:
        assert db0.channel("events") == f"{prefix}db0:events" and db1.channel("events") == f"{prefix}db1:events"
        await db0.publish("events", b"from another database")
        await other_prefix.publish("events", b"from another prefix")
        await other_db1.publish("events", b"same shop")
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        assert heard == [b"same shop"]
    finally:
        for link in (db0, db1, other_db1, other_prefix):
            await link.close()


def test_a_disabled_plugins_command_says_it_is_disabled(shop):
    shop.env_extra["SHOP_PLUGINS_DISABLED"] = "wallet,orders,reviews"
    try:
        out = shop.cli("ledger", "verify", check=False)
    finally:
        del shop.env_extra["SHOP_PLUGINS_DISABLED"]
    assert out.returncode == 2
    assert out.stderr.strip() == ("shop: error: `shop ledger` belongs to plugin 'wallet', which is disabled by "
                                  "configuration (plugins.enabled / plugins.disabled, SHOP_PLUGINS_*); enable it "
                                  "to use this command")
    unknown = shop.cli("frobnicate", check=False)
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
