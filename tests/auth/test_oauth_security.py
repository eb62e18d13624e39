"""Negative cases of the authorization server, over raw HTTP."""

from __future__ import annotations

import base64
import re
import time
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization

from tests.support.auth_helpers import DEFAULT_PASSWORD, bearer, create_user, pkce_pair, token_response

from .conftest import authority_of

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def authz_query(authority: Any, challenge: str | None, **extra: str) -> dict[str, str]:
    q = {"response_type": "code", "client_id": "web-client", "redirect_uri": f"{authority.issuer}/auth/callback",
         "scope": "openid email catalog:read", "state": "st-1"}
    if challenge:
        q.update(code_challenge=challenge, code_challenge_method="S256")
    q.update(extra)
    return q


async def get_code(client: Any, email: str, challenge: str | None, **extra: str) -> str:
    authority = authority_of(client)
    page = await client.get("/oauth/authorize", params=authz_query(authority, challenge, **extra))
    assert page.status == 200, await page.text()
    form = {n: unescape(v) for n, v in HIDDEN.findall(await page.text())}
    form.update(email=email, password=DEFAULT_PASSWORD)
    resp = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]


async def exchange(client: Any, code: str, verifier: str | None, redirect_uri: str | None = None) -> Any:
    authority = authority_of(client)
    data = {"grant_type": "authorization_code", "code": code, "client_id": "web-client",
            "redirect_uri": redirect_uri or f"{authority.issuer}/auth/callback"}
    if verifier:
        data["code_verifier"] = verifier
    return await client.post("/oauth/token", data=data)


async def test_wrong_code_verifier_is_invalid_grant_and_spends_the_code(make_client):
    client = await make_client()
    await create_user(client, "v@example.test")
    verifier, challenge = pkce_pair()
    code = await get_code(client, "v@example.test", challenge)
    r = await exchange(client, code, pkce_pair()[0])
    assert r.status == 400
    assert (await r.json())["error"] == "invalid_grant"
    assert r.headers["Cache-Control"] == "no-store"
    r = await exchange(client, code, verifier)  # the right verifier is too late now
    assert r.status == 400


async def test_reused_code_fails_and_revokes_the_tokens_it_gave(make_client):
    client = await make_client()
    await create_user(client, "reuse@example.test")
    verifier, challenge = pkce_pair()
    code = await get_code(client, "reuse@example.test", challenge)
    first = await exchange(client, code, verifier)
    tokens = await first.json()
    assert first.status == 200, tokens
    assert (await client.get("/api/me", headers=bearer(tokens["access_token"]))).status == 200
    again = await exchange(client, code, verifier)
    assert again.status == 400 and (await again.json())["error"] == "invalid_grant"
    me = await client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert me.status == 401
    assert 'error="invalid_token"' in me.headers["WWW-Authenticate"]
    r = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "web-client",
                                                "refresh_token": tokens["refresh_token"]})
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"


async def test_unregistered_or_mismatched_redirect_uri_shows_an_error_page_not_a_redirect(make_client):
    client = await make_client()
    authority = authority_of(client)
    _, challenge = pkce_pair()
    for uri in ("https://evil.example/cb", f"{authority.issuer}/auth/callback/extra", f"{authority.issuer}/auth/"):
        r = await client.get("/oauth/authorize", params=authz_query(authority, challenge, redirect_uri=uri),
                             allow_redirects=False)
        assert r.status == 400
        assert "Location" not in r.headers
        assert "text/html" in r.headers["Content-Type"]
    r = await client.get("/oauth/authorize", params=authz_query(authority, challenge, client_id="nope"),
                         allow_redirects=False)
    assert r.status == 400 and "Location" not in r.headers


async def test_token_request_with_another_redirect_uri_is_invalid_grant(make_client):
    client = await make_client()
    await create_user(client, "rd@example.test")
    verifier, challenge = pkce_pair()
    code = await get_code(client, "rd@example.test", challenge)
    r = await exchange(client, code, verifier, redirect_uri="https://evil.example/cb")
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"


async def test_plain_pkce_and_missing_challenge_redirect_with_invalid_request_and_state(make_client):
    client = await make_client()
    authority = authority_of(client)
    verifier, _ = pkce_pair()
    for params in (authz_query(authority, None, code_challenge=verifier, code_challenge_method="plain"),
                   authz_query(authority, None, code_challenge=verifier),
                   authz_query(authority, None)):
        r = await client.get("/oauth/authorize", params=params, allow_redirects=False)
        assert r.status in (302, 303)
        q = parse_qs(urlsplit(r.headers["Location"]).query)
        assert q["error"] == ["invalid_request"] and q["state"] == ["st-1"]


async def test_other_authorize_errors_redirect_with_error_and_state(make_client):
    client = await make_client()
    authority = authority_of(client)
    _, challenge = pkce_pair()
    cases = [({"response_type": "token"}, "unsupported_response_type"), ({"scope": "openid superuser"},
                                                                           "invalid_scope")]
    for extra, error in cases:
        r = await client.get("/oauth/authorize", params=authz_query(authority, challenge, **extra),
                             allow_redirects=False)
        q = parse_qs(urlsplit(r.headers["Location"]).query)
        assert q["error"] == [error] and q["state"] == ["st-1"] and q["iss"] == [authority.issuer]


async def test_missing_state_is_left_to_the_client(make_client):
    client = await make_client()
    await create_user(client, "nostate@example.test")
    authority = authority_of(client)
    verifier, challenge = pkce_pair()
    params = authz_query(authority, challenge)
    del params["state"]
    page = await client.get("/oauth/authorize", params=params)
    form = {n: unescape(v) for n, v in HIDDEN.findall(await page.text())}
    form.update(email="nostate@example.test", password=DEFAULT_PASSWORD)
    r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert "state" not in q and "code" in q
    assert (await exchange(client, q["code"][0], verifier)).status == 200


async def test_expired_code_is_invalid_grant(make_client):
    client = await make_client()
    await create_user(client, "exp@example.test")
    verifier, challenge = pkce_pair()
    code = await get_code(client, "exp@example.test", challenge)
    await authority_of(client).db.execute("UPDATE auth_code SET expires_at = now() - interval '1 second'")
    r = await exchange(client, code, verifier)
    assert r.status == 400 and "expired" in (await r.json())["error_description"]


async def test_code_lifetime_is_sixty_seconds(make_client):
    client = await make_client()
    await create_user(client, "ttl@example.test")
    _, challenge = pkce_pair()
    await get_code(client, "ttl@example.test", challenge)
    secs = await authority_of(client).db.fetchval(
        "SELECT extract(epoch FROM expires_at - created_at) FROM auth_code ORDER BY created_at DESC LIMIT 1")
    assert 59 <= float(secs) <= 61


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(make_client):
    client = await make_client()
    tokens = await token_response(client, "fam@example.test")

    async def refresh(rt: str) -> Any:
        return await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "web-client",
                                                       "refresh_token": rt})

    r1 = await refresh(tokens["refresh_token"])
    new = await r1.json()
    assert r1.status == 200 and new["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/api/me", headers=bearer(new["access_token"]))).status == 200
    reused = await refresh(tokens["refresh_token"])
    assert reused.status == 400 and (await reused.json())["error"] == "invalid_grant"
    # The thief's copy and the legitimate newest token are both dead now.
    assert (await refresh(new["refresh_token"])).status == 400
    assert (await client.get("/api/me", headers=bearer(new["access_token"]))).status == 401
    assert (await client.get("/api/me", headers=bearer(tokens["access_token"]))).status == 401


async def test_revoked_access_and_refresh_tokens_stop_working(make_client):
    client = await make_client()
    tokens = await token_response(client, "rev@example.test")
    r = await client.post("/oauth/revoke", data={"token": tokens["access_token"], "client_id": "web-client",
                                                 "token_type_hint": "access_token"})
    assert r.status == 200
    assert (await client.get("/api/me", headers=bearer(tokens["access_token"]))).status == 401
    r = await client.post("/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "web-client"})
    assert r.status == 200
    r = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "web-client",
                                                "refresh_token": tokens["refresh_token"]})
    assert r.status == 400
    # Unknown tokens are fine (RFC 7009 §2.2).
    r = await client.post("/oauth/revoke", data={"token": "garbage", "client_id": "web-client"})
    assert r.status == 200


async def test_revocation_is_still_honoured_when_redis_is_down(make_client, settings):
    client = await make_client()
    tokens = await token_response(client, "redisdown@example.test")
    await client.post("/oauth/revoke", data={"token": tokens["access_token"], "client_id": "web-client"})
    other = await make_client(redis_url="redis://127.0.0.1:1/0")  # same database, Redis unreachable
    assert (await other.get("/api/me", headers=bearer(tokens["access_token"]))).status == 401
    fresh = await token_response(client, "redisdown@example.test", create=False)
    assert (await other.get("/api/me", headers=bearer(fresh["access_token"]))).status == 200


async def test_revocations_made_while_redis_was_down_are_honoured_after_it_returns(make_client):
    client = await make_client()  # Redis up all along
    tokens = await token_response(client, "redisback@example.test")
    assert (await client.get("/api/me", headers=bearer(tokens["access_token"]))).status == 200
    other = await make_client(redis_url="redis://127.0.0.1:1/0")  # another process that lost Redis
    r = await other.post("/oauth/revoke", data={"token": tokens["access_token"], "client_id": "web-client"})
    assert r.status == 200
    # The first process never saw the outage; its periodic refresh brings the revocation over.
    authority_of(client)._last_resync = 0.0
    assert (await client.get("/api/me", headers=bearer(tokens["access_token"]))).status == 401


def _sign(authority: Any, claims: dict[str, Any], **header: Any) -> str:
    key = authority.keys.active
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": "at+jwt",
                                                                           **header})


async def test_forged_and_invalid_tokens_are_refused(make_client):
    client = await make_client()
    user = await create_user(client, "forge@example.test")
    authority = authority_of(client)
    now = int(time.time())
    good = {"iss": authority.issuer, "sub": user["id"], "aud": authority.audience, "exp": now + 300, "iat": now,
            "nbf": now, "jti": "j-" + str(now), "scope": "openid", "roles": ["admin"], "client_id": "web-client"}
    assert (await client.get("/api/me", headers=bearer(_sign(authority, good)))).status == 200
    key = authority.keys.active
    pem = key.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def b64(d: bytes) -> str:
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()

    import orjson

    none_token = b64(orjson.dumps({"alg": "none", "typ": "at+jwt", "kid": key.kid})) + "." + \
        b64(orjson.dumps(good)) + "."
    import hashlib
    import hmac as _hmac

    signing_input = b64(orjson.dumps({"alg": "HS256", "typ": "at+jwt", "kid": key.kid})) + "." + \
        b64(orjson.dumps(good))
    hs_token = signing_input + "." + b64(_hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    bad = {
        "alg none": none_token,
        "HS256 with the public key": hs_token,
        "wrong iss": _sign(authority, {**good, "iss": "https://evil.example"}),
        "wrong aud": _sign(authority, {**good, "aud": "someone-else"}),
        "expired": _sign(authority, {**good, "exp": now - 120, "iat": now - 1000, "nbf": now - 1000}),
        "not yet valid": _sign(authority, {**good, "nbf": now + 600}),
        "unknown kid": _sign(authority, good, kid="nope"),
        "id token type": _sign(authority, good, typ="JWT"),
        "garbage": "not.a.jwt",
    }
    for what, token in bad.items():
        r = await client.get("/api/me", headers=bearer(token))
        assert r.status == 401, what
        assert r.headers["Content-Type"].startswith("application/problem+json"), what
        assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", ""), what
    r = await client.get("/oauth/userinfo", headers=bearer(hs_token))
    assert r.status == 401


async def test_client_credentials_errors_and_introspection(make_client):
    client = await make_client()
    authority = authority_of(client)
    cid, secret = await authority.create_client("Integrator", [], ["catalog:read", "orders:read"], True)
    basic = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": "Basic " + base64.b64encode(f"{cid}:wrong".encode()).decode()})
    assert r.status == 401 and (await r.json())["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "admin"},
                          headers={"Authorization": basic})
    assert r.status == 400 and (await r.json())["error"] == "invalid_scope"
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "web-client"})
    assert r.status == 400 and (await r.json())["error"] == "unauthorized_client"
    r = await client.post("/oauth/token", data={"grant_type": "password", "client_id": cid, "client_secret": secret})
    assert r.status == 400 and (await r.json())["error"] == "unsupported_grant_type"
    r = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert r.status == 400 and (await r.json())["error"] == "invalid_request"
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": basic})
    token = (await r.json())["access_token"]
    # Introspection: confidential clients only.
    r = await client.post("/oauth/introspect", data={"token": token}, headers={"Authorization": basic})
    body = await r.json()
    assert body["active"] is True and body["client_id"] == cid and body["scope"] == "catalog:read orders:read"
    r = await client.post("/oauth/introspect", data={"token": token, "client_id": "web-client"})
    assert r.status == 401
    await client.post("/oauth/revoke", data={"token": token}, headers={"Authorization": basic})
    r = await client.post("/oauth/introspect", data={"token": token}, headers={"Authorization": basic})
    assert (await r.json()) == {"active": False}


async def test_discovery_document_has_the_required_fields(make_client):
    client = await make_client()
    doc = await (await client.get("/.well-known/openid-configuration")).json()
    for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
              "revocation_endpoint", "introspection_endpoint", "scopes_supported", "response_types_supported",
              "grant_types_supported", "code_challenge_methods_supported", "token_endpoint_auth_methods_supported",
              "subject_types_supported", "id_token_signing_alg_values_supported"):
        assert k in doc, k
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    jwks = await (await client.get("/oauth/jwks")).json()
    assert all("kid" in k and "d" not in k for k in jwks["keys"])


async def test_admin_scope_needs_the_admin_role(make_client):
    client = await make_client()
    plain = await token_response(client, "plain@example.test", scopes=("openid", "admin"))
    assert plain["scope"] == "openid"
    admin = await token_response(client, "boss@example.test", admin=True, scopes=("openid",))
    assert "admin" in admin["scope"].split()


async def test_long_expired_codes_and_tokens_are_purged_and_live_ones_kept(make_client):
    client = await make_client()
    authority = authority_of(client)
    old = await token_response(client, "purge-old@example.test")
    user_id = (await create_user(client, "purge-old@example.test"))["id"]
    for table in ("auth_code", "auth_refresh_token", "auth_access_token"):
        await authority.db.execute(f"UPDATE {table} SET expires_at = now() - interval '2 days' "
                                   "WHERE user_id = $1::uuid" if table != "auth_access_token" else
                                   f"UPDATE {table} SET expires_at = now() - interval '2 days' WHERE subject = $1",
                                   user_id)
    fresh = await token_response(client, "purge-new@example.test")
    purged = await authority.purge_expired()
    assert purged["auth_code"] >= 1 and purged["auth_refresh_token"] >= 1 and purged["auth_access_token"] >= 1
    # The fresh user's tokens are untouched and still work; the old refresh token is simply invalid.
    assert (await client.get("/api/me", headers=bearer(fresh["access_token"]))).status == 200
    r = await client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"],
                                                "client_id": "web-client"})
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
