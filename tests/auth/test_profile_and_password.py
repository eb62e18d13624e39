"""The account page's backend: change your name, change your password (current one required, every session
signed out), from the shop itself only."""

from __future__ import annotations

import uuid

import aiohttp

from tests.support.auth_helpers import DEFAULT_PASSWORD, bearer, create_user, token_response

from . import test_consent_and_grants as grants
from .addresses import exchange, hidden_fields
from .conftest import authority_of
from .test_pages_and_session import browser_sign_in


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.test"  # the database is shared by the run


async def _csrf(client):
    return {"X-CSRF-Token": (await (await client.get("/auth/session")).json())["csrfToken"]}


async def test_a_shopper_renames_themselves_over_rest_and_graphql_and_bad_names_are_refused(make_client):
    client = await make_client()
    email = _email("rename")
    await create_user(client, email, name="Old Name")
    await browser_sign_in(client, email)
    h = await _csrf(client)
    r = await client.patch("/api/me", json={"name": "  New Name  "}, headers=h)
    assert r.status == 200 and (await r.json())["name"] == "New Name"
    info = await (await client.get("/auth/session")).json()
    assert info["user"]["name"] == "New Name"  # the header reads it from the account, not the old token
    q = await client.post("/graphql", headers=h, json={"query": 'mutation { updateMe(name: "Gql Name") { name } }'})
    assert (await q.json())["data"]["updateMe"]["name"] == "Gql Name"
    for bad in ("x" * 201, "tab\tname", "bell\x07"):
        r = await client.patch("/api/me", json={"name": bad}, headers=h)
        body = await r.json()
        assert r.status == 400 and body["errors"][0]["field"] == "name", body
    assert (await client.patch("/api/me", json={"name": "No Csrf"})).status == 403
    assert (await (await make_client()).patch("/api/me", json={"name": "x"})).status == 401


async def test_changing_the_password_needs_the_current_one_and_signs_every_session_out(make_client):
    client = await make_client()
    email = _email("pw")
    await create_user(client, email)
    await browser_sign_in(client, email)
    other_device = await token_response(client, email, create=False)
    h = await _csrf(client)
    wrong = await client.post("/api/me/password", headers=h,
                              json={"currentPassword": "not-it-at-all", "newPassword": "a-new-password-1"})
    body = await wrong.json()
    assert wrong.status == 400 and body["reason"] == "WRONG_PASSWORD"
    assert body["errors"] == [{"field": "currentPassword", "message": "is not your current password"}]
    short = await client.post("/api/me/password", headers=h,
                              json={"currentPassword": DEFAULT_PASSWORD, "newPassword": "short"})
    assert short.status == 400 and (await short.json())["errors"][0]["field"] == "newPassword"
    same = await client.post("/api/me/password", headers=h,
                             json={"currentPassword": DEFAULT_PASSWORD, "newPassword": DEFAULT_PASSWORD})
    assert same.status == 400 and (await same.json())["errors"][0]["field"] == "newPassword"
    assert (await client.get("/api/me")).status == 200  # refusals changed nothing

    ok = await client.post("/api/me/password", headers=h,
                           json={"currentPassword": DEFAULT_PASSWORD, "newPassword": "a-new-password-1"})
    assert ok.status == 200 and await ok.json() == {"changed": True, "signedOut": True}
    # This session and the other device are both signed out, refresh included.
    assert (await client.get("/api/me")).status == 401
    assert (await client.get("/api/me", headers=bearer(other_device["access_token"]))).status == 401
    refreshed = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "web-client",
                                                        "refresh_token": other_device["refresh_token"]})
    assert refreshed.status == 400
    # Only the new password signs in now.
    db = authority_of(client).db
    from plugins.auth import users

    assert await users.authenticate(db, email, DEFAULT_PASSWORD) is None
    assert await users.authenticate(db, email, "a-new-password-1") is not None


async def test_a_third_party_application_cannot_rename_or_repassword_the_user(live):
    """Even with the user's consent: these calls are the shop's own."""
    _server, authority, base, cid, redirect = await grants.setup(live)
    async with aiohttp.ClientSession(base) as s:
        r, verifier = await grants.sign_in_to_partner(s, authority.issuer, cid, redirect, scope="openid email")
        form = hidden_fields(await r.text())
        r = await s.post("/oauth/authorize", data={**form, "decision": "allow"}, allow_redirects=False)
        tokens = await exchange(s, r.headers["Location"], verifier, cid, redirect)
        h = bearer(tokens["access_token"])
        r = await s.patch("/api/me", json={"name": "Hijacked"}, headers=h)
        assert r.status == 403 and (await r.json())["reason"] == "FIRST_PARTY_ONLY"
        r = await s.post("/api/me/password", json={"currentPassword": DEFAULT_PASSWORD, "newPassword": "x" * 12},
                         headers=h)
        assert r.status == 403 and (await r.json())["reason"] == "FIRST_PARTY_ONLY"
