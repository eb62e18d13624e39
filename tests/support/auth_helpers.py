"""Helpers for tests that need real users and real tokens from the auth plugin.

``token = await user_token(client, "ada@example.test")`` creates the user (if new),
runs the real authorize + token flow with PKCE over HTTP against the test client,
and returns an access token for ``Authorization: Bearer``. The app must load the
auth plugin (``make_client()`` with the default plugins, or a list including it).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kernel.host.app import runtime_of

DEFAULT_PASSWORD = "correct horse battery staple"
USER_SCOPES = ("openid", "profile", "email", "catalog:read", "cart:write", "orders:read", "orders:write",
               "wallet:read", "wallet:write")
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _authority(client: Any) -> Any:
    rt = runtime_of(client.server.app)
    from plugins.auth import authority_of

    return authority_of(rt)


async def create_user(client: Any, email: str, password: str = DEFAULT_PASSWORD, *, name: str = "",
                      admin: bool = False) -> dict[str, Any]:
    """Create a user directly (no CLI, no HTTP); returns {id, email, name, roles}. Existing users are reused."""
    from plugins.auth import users

    db = _authority(client).db
    row = await users.find_by_email(db, email)
    if row is None:
        row = await users.create_user(db, email, password, name or email.split("@")[0],
                                      ("admin",) if admin else ())
    elif admin and "admin" not in row["roles"]:
        await db.execute("UPDATE auth_user SET roles = array_append(roles, 'admin') WHERE id = $1::uuid", row["id"])
        row = await users.find_by_email(db, email)
    return {"id": row["id"], "email": row["email"], "name": row["name"], "roles": list(row["roles"])}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def token_response(client: Any, email: str, password: str = DEFAULT_PASSWORD, *, admin: bool = False,
                         scopes: tuple[str, ...] | list[str] = USER_SCOPES, create: bool = True,
                         nonce: str | None = None) -> dict[str, Any]:
    """The whole token response (access_token, refresh_token, id_token, scope ...)."""
    authority = _authority(client)
    if create:
        await create_user(client, email, password, admin=admin)
    scope_list = list(scopes) + (["admin"] if admin and "admin" not in scopes else [])
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    redirect_uri = f"{authority.issuer}/auth/callback"
    query = {"response_type": "code", "client_id": "web-client", "redirect_uri": redirect_uri,
             "scope": " ".join(scope_list), "state": state, "code_challenge": challenge,
             "code_challenge_method": "S256"}
    if nonce:
        query["nonce"] = nonce
    page = await client.get("/oauth/authorize", params=query)
    html = await page.text()
    assert page.status == 200, html
    form = {name: unescape(value) for name, value in _HIDDEN.findall(html)}
    form.update(email=email, password=password)
    resp = await client.post("/oauth/authorize", data=form, allow_redirects=False)
    assert resp.status in (302, 303), await resp.text()
    params = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert params["state"] == [state]
    tok = await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": params["code"][0], "redirect_uri": redirect_uri,
        "client_id": "web-client", "code_verifier": verifier})
    body: dict[str, Any] = await tok.json()
    assert tok.status == 200, body
    return body


async def user_token(client: Any, email: str, password: str = DEFAULT_PASSWORD, *, admin: bool = False,
                     scopes: tuple[str, ...] | list[str] = USER_SCOPES) -> str:
    """An access token for ``email`` (created if new), from the real code + PKCE flow."""
    body = await token_response(client, email, password, admin=admin, scopes=scopes)
    return str(body["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
