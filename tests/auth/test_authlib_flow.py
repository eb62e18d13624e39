"""The code + PKCE flow driven by a real OAuth client library (authlib + httpx) against a live server."""

from __future__ import annotations

import re
import secrets
from html import unescape
from typing import Any

import httpx
import jwt
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.support.auth_helpers import DEFAULT_PASSWORD

from .conftest import authority_of

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def sign_in_via_form(http: httpx.AsyncClient, url: str, email: str, password: str) -> httpx.Response:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    form = {n: unescape(v) for n, v in HIDDEN.findall(page.text)}
    form.update(email=email, password=password)
    return await http.post("/oauth/authorize", data=form, follow_redirects=False)


async def test_authlib_client_completes_code_flow_with_pkce_and_gets_id_token_with_nonce(live):
    server = await live()
    base = str(server.make_url("")).rstrip("/")
    from plugins.auth import users

    authority = authority_of(server)
    await users.create_user(authority.db, "lib@example.test", DEFAULT_PASSWORD, "Lib")
    async with httpx.AsyncClient(base_url=base) as http:
        disco = (await http.get("/.well-known/openid-configuration")).json()
    assert disco["issuer"] == base
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    async with AsyncOAuth2Client(client_id="web-client", scope="openid email profile catalog:read",
                                 redirect_uri=f"{base}/auth/callback", code_challenge_method="S256",
                                 token_endpoint_auth_method="none") as oauth:
        url, state = oauth.create_authorization_url(disco["authorization_endpoint"], code_verifier=verifier,
                                                    nonce=nonce)
        async with httpx.AsyncClient(base_url=base) as browser:
            resp = await sign_in_via_form(browser, url, "lib@example.test", DEFAULT_PASSWORD)
        assert resp.status_code == 303
        location = resp.headers["location"]
        assert location.startswith(f"{base}/auth/callback?")
        token: dict[str, Any] = await oauth.fetch_token(disco["token_endpoint"], authorization_response=location,
                                                        code_verifier=verifier, state=state)
        assert token["token_type"].lower() == "bearer"
        assert set(token["scope"].split()) == {"openid", "email", "profile", "catalog:read"}
        # The ID token is signed by a key from the JWKS and echoes the nonce.
        jwks = (await oauth.get(disco["jwks_uri"])).json()
        kid = jwt.get_unverified_header(token["id_token"])["kid"]
        key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
        idt = jwt.decode(token["id_token"], key.key, algorithms=[key.algorithm_name], audience="web-client",
                         issuer=base)
        assert idt["nonce"] == nonce and idt["email"] == "lib@example.test"
        access = jwt.decode(token["access_token"], key.key, algorithms=[key.algorithm_name], audience=base,
                            issuer=base)
        assert {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope", "roles", "client_id"} <= set(access)
        info = (await oauth.get(disco["userinfo_endpoint"])).json()
        assert info["email"] == "lib@example.test" and info["sub"] == idt["sub"]
        me = await oauth.get(f"{base}/api/me")
        assert me.status_code == 200 and me.json()["name"] == "Lib"
        # Refresh with the library: a new refresh token every time.
        refreshed = await oauth.refresh_token(disco["token_endpoint"], refresh_token=token["refresh_token"])
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert "id_token" not in refreshed or refreshed["id_token"]


async def test_authlib_client_credentials_with_basic_and_post_auth(live):
    server = await live()
    base = str(server.make_url("")).rstrip("/")
    authority = authority_of(server)
    client_id, secret = await authority.create_client("Integrator", [], ["catalog:read", "orders:read"], True)
    for method in ("client_secret_basic", "client_secret_post"):
        async with AsyncOAuth2Client(client_id=client_id, client_secret=secret,
                                     token_endpoint_auth_method=method) as oauth:
            token = await oauth.fetch_token(f"{base}/oauth/token", grant_type="client_credentials",
                                            scope="catalog:read")
            assert token["scope"] == "catalog:read"
            assert "refresh_token" not in token
            me = await oauth.get(f"{base}/api/me")
            assert me.status_code == 403  # a client is not a user
