"""Sign-up, sign-in and sign-out without JavaScript; the storefront's cookie session."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.auth_helpers import DEFAULT_PASSWORD, bearer, create_user, pkce_pair, user_token

from .conftest import authority_of

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def form_of(html: str) -> dict[str, str]:
    return {n: unescape(v) for n, v in HIDDEN.findall(html)}


async def authorize_page(client: Any, **extra: str) -> Any:
    authority = authority_of(client)
    _, challenge = pkce_pair()
    q = {"response_type": "code", "client_id": "web-client", "redirect_uri": f"{authority.issuer}/auth/callback",
         "scope": "openid", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return await client.get("/oauth/authorize", params=q)


async def test_sign_in_page_is_a_plain_form_with_csrf_and_its_own_csp(make_client):
    client = await make_client()
    page = await authorize_page(client)
    html = await page.text()
    assert page.status == 200
    assert '<form method="post" action="/oauth/authorize">' in html
    assert 'name="email"' in html and 'name="password"' in html and 'name="csrf"' in html
    assert "<script" not in html and "style=" not in html
    assert "prompt=create" in html  # the link to sign up
    csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self' " + authority_of(client).issuer in csp
    assert "script-src" not in csp and "default-src 'none'" in csp
    css = await client.get("/oauth/assets/auth.css")
    assert css.status == 200 and "text/css" in css.headers["Content-Type"]


async def test_sign_up_by_form_creates_the_user_and_redirects_with_a_code(make_client):
    client = await make_client()
    page = await authorize_page(client, prompt="create")
    html = await page.text()
    assert 'name="name"' in html
    form = form_of(html)
    form.update(email="New@Example.test", password="long enough pw", name="Newt")
    r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert r.status == 303, await r.text()
    assert "code" in parse_qs(urlsplit(r.headers["Location"]).query)
    row = await authority_of(client).db.fetchrow("SELECT name, password_hash FROM auth_user "
                                                 "WHERE lower(email) = 'new@example.test'")
    assert row["name"] == "Newt" and row["password_hash"].startswith("$argon2id$")
    # Same email in other case: refused, form shown again.
    form.update(email="new@EXAMPLE.test")
    r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert r.status == 409 and "already exists" in await r.text()
    form.update(email="short@example.test", password="short")
    r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert r.status == 400 and "Password" in await r.text()


async def test_unknown_email_and_wrong_password_get_the_same_answer(make_client):
    client = await make_client()
    await create_user(client, "known@example.test")
    answers = []
    for email, pw in (("known@example.test", "wrong password"), ("unknown@example.test", "wrong password")):
        form = form_of(await (await authorize_page(client)).text())
        form.update(email=email, password=pw)
        r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
        text = await r.text()
        answers.append((r.status, re.search(r'<p class="error"[^>]*>(.*?)</p>', text).group(1)))
    assert answers[0] == answers[1] and answers[0][0] == 401


async def test_form_without_valid_csrf_token_or_from_another_origin_is_refused(make_client):
    client = await make_client()
    await create_user(client, "csrf@example.test")
    form = form_of(await (await authorize_page(client)).text())
    form.update(email="csrf@example.test", password=DEFAULT_PASSWORD)
    r = await client.post("/oauth/authorize", data={**form, "csrf": "1.forged"}, allow_redirects=False)
    assert r.status == 403
    r = await client.post("/oauth/authorize", data=form, headers={"Origin": "https://evil.example"},
                          allow_redirects=False)
    assert r.status == 403
    # A token minted for another authorization request does not carry over.
    r = await client.post("/oauth/authorize", data={**form, "state": "other"}, allow_redirects=False)
    assert r.status == 403
    r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert r.status == 303


async def test_login_is_throttled_per_account(make_client):
    client = await make_client(rate_limits={"login": (3, 60.0), "token": (100, 60.0), "signup": (10, 60.0)})
    await create_user(client, "slow@example.test")
    statuses = []
    for _ in range(4):
        form = form_of(await (await authorize_page(client)).text())
        form.update(email="slow@example.test", password="nope nope nope")
        r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
        statuses.append(r.status)
    assert statuses == [401, 401, 401, 429]
    assert "Retry-After" in r.headers


async def browser_sign_in(client: Any, email: str, next_path: str | None = None) -> None:
    """What a browser does: /auth/login -> sign-in page -> form post -> /auth/callback (cookies kept)."""
    authority = authority_of(client)
    r = await client.get("/auth/login", params={"next": next_path} if next_path else None, allow_redirects=False)
    assert r.status == 302
    page = await client.get(r.headers["Location"])
    form = form_of(await page.text())
    form.update(email=email, password=DEFAULT_PASSWORD)
    r = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert r.status == 303
    location = r.headers["Location"]
    assert location.startswith(f"{authority.issuer}/auth/callback?")
    r = await client.get(location[len(authority.issuer):], allow_redirects=False)
    assert r.status == 303, await r.text()
    return r.headers["Location"]


async def test_storefront_session_signs_in_reads_me_and_needs_csrf_for_writes(make_client):
    client = await make_client()
    await create_user(client, "shopper@example.test", name="Shopper")
    anon = await (await client.get("/auth/session")).json()
    assert anon == {"authenticated": False, "csrfToken": None}
    assert await browser_sign_in(client, "shopper@example.test", "/orders") == "/orders"
    probe = await make_client()
    set_cookie = (await probe.get("/auth/login", allow_redirects=False)).headers["Set-Cookie"]
    assert set_cookie.startswith("shop_session=") and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    info = await (await client.get("/auth/session")).json()
    assert info["authenticated"] is True and info["user"]["email"] == "shopper@example.test"
    csrf = info["csrfToken"]
    me = await client.get("/api/me")
    assert me.status == 200 and (await me.json())["name"] == "Shopper"
    q = {"query": "{ me { email } }"}
    r = await client.post("/graphql", json=q)
    # Refused before the engine runs, and still a GraphQL answer (not a REST problem document).
    assert r.status == 403 and r.content_type == "application/json"
    err = (await r.json())["errors"][0]
    assert err["extensions"]["code"] == "PERMISSION_DENIED" and err["extensions"]["reason"] == "CSRF"
    r = await client.post("/graphql", json=q, headers={"X-CSRF-Token": "wrong"})
    assert r.status == 403
    r = await client.post("/graphql", json=q, headers={"X-CSRF-Token": csrf})
    assert (await r.json())["data"]["me"]["email"] == "shopper@example.test"
    # Sign out without JavaScript: a page with a form, then the form post.
    page = await client.get("/auth/logout")
    assert form_of(await page.text())["csrf"] == csrf
    r = await client.post("/auth/logout", data={}, allow_redirects=False)
    assert r.status == 403
    r = await client.post("/auth/logout", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/"
    assert (await client.get("/api/me")).status == 401
    assert (await (await client.get("/auth/session")).json())["authenticated"] is False


async def test_session_logout_revokes_the_tokens_it_held(make_client):
    client = await make_client()
    await create_user(client, "bye@example.test")
    await browser_sign_in(client, "bye@example.test")
    authority = authority_of(client)
    jti_count = await authority.db.fetchval("SELECT count(*) FROM auth_access_token a JOIN auth_user u "
                                            "ON a.subject = u.id::text WHERE u.email = 'bye@example.test' "
                                            "AND revoked_at IS NULL")
    assert jti_count == 1
    csrf = (await (await client.get("/auth/session")).json())["csrfToken"]
    r = await client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status == 204
    left = await authority.db.fetchval("SELECT count(*) FROM auth_access_token a JOIN auth_user u "
                                       "ON a.subject = u.id::text WHERE u.email = 'bye@example.test' "
                                       "AND revoked_at IS NULL")
    assert left == 0


async def test_login_next_only_accepts_same_site_paths(make_client):
    client = await make_client()
    await create_user(client, "nx@example.test")
    for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        client.session.cookie_jar.clear()
        assert await browser_sign_in(client, "nx@example.test", evil) == "/"


async def test_callback_with_a_foreign_state_is_refused(make_client):
    client = await make_client()
    r = await client.get("/auth/login", allow_redirects=False)
    assert r.status == 302
    r = await client.get("/auth/callback", params={"code": "x", "state": "not-mine"})
    assert r.status == 400


async def test_sessions_fail_closed_when_redis_is_down(make_client):
    client = await make_client(redis_url="redis://127.0.0.1:1/0")
    client.session.cookie_jar.update_cookies({"shop_session": "abc"})
    r = await client.get("/api/me")
    assert r.status == 503
    body = await r.json()
    assert body["code"] == "UNAVAILABLE" and "session" in body["detail"].lower()
    r = await client.get("/auth/login", allow_redirects=False)
    assert r.status == 503


async def test_graphql_me_is_null_when_anonymous_and_the_user_with_a_token(make_client):
    client = await make_client()
    r = await client.post("/graphql", json={"query": "{ me { id email name roles createdAt } }"})
    body = await r.json()
    assert body["data"]["me"] is None and "errors" not in body
    token = await user_token(client, "gq@example.test")
    r = await client.post("/graphql", json={"query": "{ me { email roles } }"}, headers=bearer(token))
    assert (await r.json())["data"]["me"] == {"email": "gq@example.test", "roles": []}
    assert (await client.get("/api/me")).status == 401


async def test_session_refreshes_a_nearly_expired_access_token_by_itself(make_client):
    client = await make_client(plugin_config={"auth": {"access_token_ttl": 60}})  # always "nearly expired"
    await create_user(client, "fresh@example.test")
    await browser_sign_in(client, "fresh@example.test")
    db = authority_of(client).db
    for _ in range(3):
        assert (await client.get("/api/me")).status == 200
    used = await db.fetchval("SELECT count(*) FROM auth_refresh_token r JOIN auth_user u ON u.id = r.user_id "
                             "WHERE u.email = 'fresh@example.test' AND used_at IS NOT NULL")
    assert used >= 3
    revoked = await db.fetchval("SELECT count(*) FROM auth_refresh_token r JOIN auth_user u ON u.id = r.user_id "
                                "WHERE u.email = 'fresh@example.test' AND revoked_at IS NOT NULL")
    assert revoked == 0


async def test_a_bad_token_on_graphql_is_a_graphql_error_not_a_problem_document(make_client):
    """REST answers a bad token with problem+json; /graphql with the GraphQL error shape, same code and reason."""
    client = await make_client()
    bad = {"Authorization": "Bearer not-a-jwt"}
    rest = await client.get("/api/me", headers=bad)
    assert rest.status == 401 and rest.content_type == "application/problem+json"
    r = await client.post("/graphql", json={"query": "{ categories { id } }"}, headers=bad)
    assert r.status == 401 and r.content_type == "application/json"
    body = await r.json()
    assert body["data"] is None and len(body["errors"]) == 1
    ext = body["errors"][0]["extensions"]
    assert ext["code"] == "UNAUTHENTICATED" and ext["reason"] == (await rest.json())["reason"] == "INVALID_TOKEN"
    assert "type" not in body and "title" not in body
