"""Talking to a live server from many client addresses: every 127.0.0.x routes to this machine,
so a client bound to 127.0.0.7 is, to the server, another address (``CallContext.client_ip``)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.support.auth_helpers import pkce_pair

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def session_from(base: str, source: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(local_addr=(source, 0)))


def hidden_fields(html: str) -> dict[str, str]:
    return {n: unescape(v) for n, v in HIDDEN.findall(html)}


async def authorize_form(s: aiohttp.ClientSession, issuer: str, *, client_id: str = "web-client",
                         redirect_uri: str | None = None, scope: str = "openid email",
                         prompt: str | None = None) -> tuple[dict[str, str], str]:
    """The sign-in (or sign-up) form's hidden fields for a fresh PKCE request, and its verifier."""
    verifier, challenge = pkce_pair()
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri or f"{issuer}/auth/callback",
         "scope": scope, "state": "st", "code_challenge": challenge, "code_challenge_method": "S256"}
    if prompt:
        q["prompt"] = prompt
    page = await s.get("/oauth/authorize", params=q)
    assert page.status == 200, await page.text()
    return hidden_fields(await page.text()), verifier


async def sign_in(base: str, issuer: str, source: str, email: str, password: str) -> tuple[int, str]:
    """POST the sign-in form from ``source``; (status, body or Location)."""
    async with session_from(base, source) as s:
        form, _ = await authorize_form(s, issuer)
        form.update(email=email, password=password)
        r = await s.post("/oauth/authorize", data=form, allow_redirects=False)
        return r.status, r.headers.get("Location") or await r.text()


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


async def post_form(s: aiohttp.ClientSession, path: str, data: Any, **kw: Any) -> tuple[int, Any]:
    r = await s.post(path, data=data, **kw)
    return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def tokens_for(s: aiohttp.ClientSession, issuer: str, email: str, password: str, *,
                     client_id: str = "web-client", redirect_uri: str | None = None,
                     scope: str = "openid email orders:read") -> dict[str, Any]:
    """The whole code + PKCE flow for a client that needs no consent (web-client, or already granted)."""
    redirect_uri = redirect_uri or f"{issuer}/auth/callback"
    form, verifier = await authorize_form(s, issuer, client_id=client_id, redirect_uri=redirect_uri, scope=scope)
    form.update(email=email, password=password)
    r = await s.post("/oauth/authorize", data=form, allow_redirects=False)
    assert r.status == 303, await r.text()
    return await exchange(s, r.headers["Location"], verifier, client_id, redirect_uri)


async def exchange(s: aiohttp.ClientSession, location: str, verifier: str, client_id: str,
                   redirect_uri: str) -> dict[str, Any]:
    status, body = await post_form(s, "/oauth/token", {
        "grant_type": "authorization_code", "code": code_of(location), "client_id": client_id,
        "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert status == 200, body
    return dict(body)
