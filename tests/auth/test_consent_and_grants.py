"""Third-party clients: consent in words, remembered per user and client, revocable; admin never by default;
introspection only of tokens the caller may see."""

from __future__ import annotations

import base64
import uuid
from html import unescape
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.support.auth_helpers import DEFAULT_PASSWORD, create_user

from .addresses import authorize_form, exchange, hidden_fields, post_form, tokens_for
from .conftest import authority_of

PARTNER_SCOPES = ["openid", "email", "orders:read", "wallet:read"]


class _Client:  # what tests.support.auth_helpers.create_user expects
    def __init__(self, server):
        self.server = server


async def setup(live):
    server = await live()
    authority = authority_of(server)
    base = str(server.make_url("/")).rstrip("/")
    redirect = f"{authority.issuer}/partner/cb"
    cid, _ = await authority.create_client("Partner App", [redirect], PARTNER_SCOPES, False)
    global ADA
    ADA = f"ada-{uuid.uuid4().hex[:8]}@example.test"  # the database is shared by the whole run
    await create_user(_Client(server), ADA)
    return server, authority, base, cid, redirect


ADA = ""


async def sign_in_to_partner(s, issuer, cid, redirect, scope="openid orders:read"):
    form, verifier = await authorize_form(s, issuer, client_id=cid, redirect_uri=redirect, scope=scope)
    form.update(email=ADA, password=DEFAULT_PASSWORD)
    r = await s.post("/oauth/authorize", data=form, allow_redirects=False)
    return r, verifier


async def test_third_party_client_gets_a_consent_screen_in_words_then_remembers_it(live):
    _server, authority, base, cid, redirect = await setup(live)
    async with aiohttp.ClientSession(base) as s:
        r, verifier = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        html = await r.text()
        assert r.status == 200 and "Allow access?" in html and "Partner App" in html
        assert "See your orders" in unescape(html) and "orders:read" in html
        assert "code=" not in r.headers.get("Location", "")
        form = hidden_fields(html)
        assert form["action"] == "consent"
        r = await s.post("/oauth/authorize", data={**form, "decision": "allow"}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"].startswith(redirect)
        tokens = await exchange(s, r.headers["Location"], verifier, cid, redirect)
        assert tokens["scope"] == "openid orders:read"
        # The second time, no question for the same scopes...
        r, _ = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        assert r.status == 303 and "code=" in r.headers["Location"]
        # ...but a wider request asks again, for everything it wants.
        r, _ = await sign_in_to_partner(s, authority.issuer, cid, redirect, scope="openid orders:read wallet:read")
        assert r.status == 200 and "See your wallet balances" in unescape(await r.text())


async def test_denying_consent_redirects_with_access_denied_and_issues_nothing(live):
    _server, authority, base, cid, redirect = await setup(live)
    async with aiohttp.ClientSession(base) as s:
        r, _ = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        form = hidden_fields(await r.text())
        r = await s.post("/oauth/authorize", data={**form, "decision": "deny"}, allow_redirects=False)
        q = parse_qs(urlsplit(r.headers["Location"]).query)
        assert r.status == 303 and q["error"] == ["access_denied"] and "code" not in q
        r, _ = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        assert r.status == 200  # nothing was remembered


async def test_a_forged_or_replayed_consent_ticket_is_refused(live):
    server, authority, base, cid, redirect = await setup(live)
    other = await create_user(_Client(server), "mallory@example.test")
    async with aiohttp.ClientSession(base) as s:
        r, _ = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        form = hidden_fields(await r.text())
        # Another user id with Ada's ticket: the ticket names the user who signed in.
        r = await s.post("/oauth/authorize", data={**form, "user": other["id"], "decision": "allow"},
                         allow_redirects=False)
        assert r.status == 403 and "expired" in await r.text()
        # The ticket is bound to the authorization request too (here: another state).
        r = await s.post("/oauth/authorize", data={**form, "state": "other", "decision": "allow"},
                         allow_redirects=False)
        assert r.status == 403


async def test_the_storefront_client_never_asks_for_consent(live):
    _server, authority, base, _cid, _redirect = await setup(live)
    async with aiohttp.ClientSession(base) as s:
        tokens = await tokens_for(s, authority.issuer, ADA, DEFAULT_PASSWORD)
        assert tokens["access_token"]


async def test_user_lists_and_revokes_grants_over_rest_and_graphql_and_the_tokens_die(live):
    _server, authority, base, cid, redirect = await setup(live)
    async with aiohttp.ClientSession(base) as s:
        r, verifier = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        form = hidden_fields(await r.text())
        r = await s.post("/oauth/authorize", data={**form, "decision": "allow"}, allow_redirects=False)
        partner = await exchange(s, r.headers["Location"], verifier, cid, redirect)
        own = await tokens_for(s, authority.issuer, ADA, DEFAULT_PASSWORD)
        me = {"Authorization": f"Bearer {own['access_token']}"}
        theirs = {"Authorization": f"Bearer {partner['access_token']}"}
        r = await s.get("/api/me/grants", headers=me)
        grants = await r.json()
        assert r.status == 200 and [g["clientId"] for g in grants] == [cid]
        assert grants[0]["clientName"] == "Partner App"
        assert {"name": "orders:read", "description": "See your orders"} in grants[0]["scopes"]
        # GraphQL says the same.
        r = await s.post("/graphql", json={"query": "{ myGrants { clientId scopes { name description } } }"},
                         headers=me)
        data = (await r.json())["data"]["myGrants"]
        assert [g["clientId"] for g in data] == [cid]
        # The third party can neither read nor undo the user's consents.
        r = await s.get("/api/me/grants", headers=theirs)
        assert r.status == 403
        assert (await s.get("/api/me", headers=theirs)).status == 200
        r = await s.delete(f"/api/me/grants/{cid}", headers=me)
        assert r.status == 200 and (await r.json()) == {"clientId": cid, "revoked": True}
        # The partner's access and refresh tokens stop working now.
        assert (await s.get("/api/me", headers=theirs)).status == 401
        status, body = await post_form(s, "/oauth/token", {"grant_type": "refresh_token", "client_id": cid,
                                                            "refresh_token": partner["refresh_token"]})
        assert status == 400 and body["error"] == "invalid_grant"
        assert (await s.delete(f"/api/me/grants/{cid}", headers=me)).status == 404
        r = await s.post("/graphql", json={"query": f'mutation {{ revokeGrant(clientId: "{cid}") {{ revoked }} }}'},
                         headers=me)
        assert (await r.json())["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        # And the next sign-in to the partner asks again.
        r, _ = await sign_in_to_partner(s, authority.issuer, cid, redirect)
        assert r.status == 200 and "Allow access?" in await r.text()


async def test_a_client_without_admin_cannot_ask_for_admin_even_for_an_admin_user(live):
    server, _authority, base, cid, redirect = await setup(live)
    await create_user(_Client(server), "root@example.test", admin=True)
    async with aiohttp.ClientSession(base) as s:
        r = await s.get("/oauth/authorize", params={
            "response_type": "code", "client_id": cid, "redirect_uri": redirect, "scope": "openid admin",
            "state": "x", "code_challenge": "a" * 43, "code_challenge_method": "S256"}, allow_redirects=False)
        assert r.status == 303 and parse_qs(urlsplit(r.headers["Location"]).query)["error"] == ["invalid_scope"]


def _basic(cid: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}


async def test_introspection_answers_only_for_the_callers_tokens_unless_it_has_the_right(live):
    server = await live()
    authority = authority_of(server)
    base = str(server.make_url("/")).rstrip("/")
    a_id, a_secret = await authority.create_client("A", [], ["catalog:read"], True)
    b_id, b_secret = await authority.create_client("B", [], ["catalog:read"], True)
    rs_id, rs_secret = await authority.create_client("Resource server", [], ["catalog:read"], True,
                                                     introspection=True)
    email = f"intro-{uuid.uuid4().hex[:8]}@example.test"
    await create_user(_Client(server), email)
    async with aiohttp.ClientSession(base) as s:
        _, body = await post_form(s, "/oauth/token", {"grant_type": "client_credentials"},
                                  headers=_basic(a_id, a_secret))
        a_token = body["access_token"]
        user_tokens = await tokens_for(s, authority.issuer, email, DEFAULT_PASSWORD)
        for token in (a_token, user_tokens["access_token"], user_tokens["refresh_token"]):
            _, seen_by_b = await post_form(s, "/oauth/introspect", {"token": token}, headers=_basic(b_id, b_secret))
            assert seen_by_b == {"active": False}
            _, seen_by_rs = await post_form(s, "/oauth/introspect", {"token": token},
                                            headers=_basic(rs_id, rs_secret))
            assert seen_by_rs["active"] is True
        _, own = await post_form(s, "/oauth/introspect", {"token": a_token}, headers=_basic(a_id, a_secret))
        assert own["active"] is True and own["client_id"] == a_id
