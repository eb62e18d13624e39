"""Defences at the edge, attacked over HTTP against a real server on 127.0.0.1:
forged client addresses, foreign CORS origins, /metrics from outside, cache and
banner leaks. A client "outside" is emulated by making 127.0.0.1 a trusted proxy
that forwards for a public address (the only way to be non-loopback on this box)."""

from __future__ import annotations

import asyncio
import uuid

from tests.support import fake_identity, hello_plugin
from tests.support.fake_identity import principal_header

PLUGINS = [hello_plugin, fake_identity]
APP = "https://app.example.com"
EVIL = "https://evil.example.net"


async def _hello_client(make_client, settings, **overrides):
    limits = dict(settings.rate_limits, hello=(2, 60.0))
    return await make_client(PLUGINS, rate_limits=limits, **overrides)


async def _greet(client, xff: str | None = None) -> int:
    headers = {"X-Forwarded-For": xff} if xff else {}
    r = await client.post("/api/hello", json={"name": f"e{uuid.uuid4().hex[:6]}"}, headers=headers)
    return r.status


# ------------------------------------------------------------------ client address


async def test_forged_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_rate_limit(make_client, settings):
    client = await _hello_client(make_client, settings)
    statuses = [await _greet(client, f"198.51.100.{i}") for i in range(4)]
    assert statuses == [200, 200, 429, 429], "every forged address must share the real peer's bucket"


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(make_client, settings):
    client = await _hello_client(make_client, settings, trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    assert [await _greet(client, "203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert await _greet(client, "203.0.113.8") == 200, "another client behind the proxy is not limited"
    # The client writes the left part of the header: prepending lies does not get a fresh bucket,
    # and inner trusted hops (10.x) are skipped to find the real client.
    assert await _greet(client, "192.0.2.1, 203.0.113.7") == 429
    assert await _greet(client, "192.0.2.99, 203.0.113.7, 10.1.2.3") == 429
    r = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status == 404, "a client behind the proxy is not local, even though the TCP peer is"


# ------------------------------------------------------------------------- /metrics


async def test_metrics_is_not_public(make_client):
    token = uuid.uuid4().hex
    client = await make_client(PLUGINS, trusted_proxies=("127.0.0.1",), metrics_token=token)
    outside = {"X-Forwarded-For": "203.0.113.50"}
    assert (await client.get("/metrics", headers=outside)).status == 404
    assert (await client.get("/metrics", headers={**outside, "Authorization": "Bearer nope"})).status == 403
    assert (await client.get("/metrics", headers={**outside, "Authorization": f"Basic {token}"})).status == 403
    ok = await client.get("/metrics", headers={**outside, "Authorization": f"Bearer {token}"})
    assert ok.status == 200 and "shop_http_request_duration_seconds" in await ok.text()
    assert (await client.get("/metrics")).status == 200, "loopback (the operator on the box) may read it"

    allowed = await make_client(PLUGINS, trusted_proxies=("127.0.0.1",), metrics_allow=("203.0.113.0/24",))
    assert (await allowed.get("/metrics", headers=outside)).status == 200
    assert (await allowed.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"})).status == 404


async def test_metrics_through_an_untrusted_local_proxy_is_refused(make_client):
    client = await make_client(PLUGINS)  # no trusted proxies: forwarded headers are not believed...
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.50"})).status == 404
    assert (await client.get("/metrics", headers={"Forwarded": "for=203.0.113.50"})).status == 404
    assert (await client.get("/metrics")).status == 200  # ...but a forwarded request is not a local operator


# ----------------------------------------------------------------------------- CORS


def _preflight(origin: str, method: str = "POST", headers: str = "authorization, content-type") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_cors_preflight_answers_allowed_origins_only(make_client):
    client = await make_client(PLUGINS, cors_origins=(APP,))
    for path in ("/api/hello", "/graphql", "/oauth/token"):
        r = await client.options(path, headers=_preflight(APP))
        assert r.status == 204, path
        assert r.headers["Access-Control-Allow-Origin"] == APP
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        assert {"authorization", "content-type", "idempotency-key"} <= {
            h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert int(r.headers["Access-Control-Max-Age"]) > 0 and "Origin" in r.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in r.headers
    for origin in (EVIL, APP + ".evil.example.net", "null", APP.replace("https", "http"), APP + ":443"):
        r = await client.options("/api/hello", headers=_preflight(origin))
        assert r.status == 403 and not any(h.startswith("Access-Control-") for h in r.headers), origin
    r = await client.options("/api/hello", headers=_preflight(APP, headers="x-evil"))
    assert "Access-Control-Allow-Origin" not in r.headers, "a header outside the allowlist is refused"
    r = await client.options("/healthz", headers=_preflight(APP))
    assert "Access-Control-Allow-Origin" not in r.headers, "CORS covers /api, /graphql and /oauth/token only"


async def test_cors_actual_responses_name_the_allowed_origin_and_nothing_else(make_client):
    client = await make_client(PLUGINS, cors_origins=(APP,))
    r = await client.post("/api/hello", json={"name": "cors"}, headers={"Origin": APP})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == APP
    assert "RateLimit-Remaining" in r.headers["Access-Control-Expose-Headers"]
    assert "Origin" in r.headers.getall("Vary")
    r = await client.post("/api/hello", json={"name": "cors"}, headers={"Origin": EVIL})
    assert "Access-Control-Allow-Origin" not in r.headers and "Origin" in r.headers.getall("Vary")
    plain = await make_client(PLUGINS)  # none by default
    r = await plain.options("/api/hello", headers=_preflight(APP))
    assert "Access-Control-Allow-Origin" not in r.headers
    r = await plain.get("/api/hello/cors", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in r.headers


# ------------------------------------------------------------------ caching headers


async def test_authenticated_responses_are_private_no_store(make_client):
    client = await make_client(PLUGINS)
    await client.post("/api/hello", json={"name": "cc"})
    who = principal_header("cc-user")
    for method, path in (("GET", "/api/hello/cc"), ("GET", "/api/hello-secret"), ("GET", "/api/nope"),
                         ("POST", "/graphql")):
        kwargs = {"json": {"query": "{ __typename }"}} if method == "POST" else {}
        r = await client.request(method, path, headers=who, **kwargs)
        assert r.headers.get("Cache-Control") == "private, no-store", (path, r.status)
    r = await client.get("/api/hello/cc", headers={"Authorization": "Bearer not-even-valid"})
    assert r.headers.get("Cache-Control") == "private, no-store"
    anonymous = await client.get("/api/hello/cc")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")


async def test_public_cached_reads_carry_an_etag_and_answer_304(make_client):
    client = await make_client(PLUGINS)
    name = f"etag{uuid.uuid4().hex[:6]}"
    await client.post("/api/hello", json={"name": name})
    first = await client.get(f"/api/hello/{name}")
    tag = first.headers["ETag"]
    assert first.status == 200 and tag.startswith('"') and not tag.startswith("W/")
    again = await client.get(f"/api/hello/{name}", headers={"If-None-Match": tag})
    assert again.status == 304 and await again.read() == b"" and again.headers["ETag"] == tag
    assert (await client.get(f"/api/hello/{name}", headers={"If-None-Match": f'"x", W/{tag}'})).status == 304
    assert (await client.get(f"/api/hello/{name}", headers={"If-None-Match": '"other"'})).status == 200
    await client.post("/api/hello", json={"name": name})  # the count changes: so must the validator
    changed = await client.get(f"/api/hello/{name}", headers={"If-None-Match": tag})
    assert changed.status == 200 and changed.headers["ETag"] != tag and (await changed.json())["count"] == 2
    # Not for writes, errors, or methods that need a caller.
    assert "ETag" not in (await client.post("/api/hello", json={"name": name})).headers
    assert "ETag" not in (await client.get("/api/hello/nobody-at-all")).headers
    assert "ETag" not in (await client.get("/api/hello-secret", headers=principal_header(
        "a", roles=("admin",), scopes=("admin",)))).headers


# ------------------------------------------------------------------------- banner


async def test_no_server_version_banner_even_on_malformed_requests(make_client):
    client = await make_client(PLUGINS)
    r = await client.get("/healthz")
    assert r.headers["Server"] == "shop"
    host, port = client.server.host, client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    head = raw.split(b"\r\n\r\n")[0].decode("latin-1")
    assert head.split()[1] == "400" and "aiohttp" not in head.lower() and "python" not in head.lower()


async def test_catalog_reads_revalidate_with_etags(make_client):
    client = await make_client()  # the installed plugins: the real catalog
    for path in ("/api/categories", "/api/products?pageSize=5"):
        first = await client.get(path)
        assert first.status == 200 and "ETag" in first.headers, path
        again = await client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status == 304 and await again.read() == b"", path
