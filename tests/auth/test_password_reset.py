"""Forgot password by mail: the same answer for every email, a single-use hashed token that expires, every
session signed out, throttled; the mail comes from a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from tests.conftest import rt_of
from tests.mail.test_mail import Smtp
from tests.support.auth_helpers import DEFAULT_PASSWORD, bearer, create_user, token_response
from tests.support.live import free_port

from .conftest import authority_of

LINK = re.compile(r"/#/reset-password\?token=([A-Za-z0-9_\-]+)")


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.test"


async def _shop(make_client: Any, monkeypatch: Any, port: int, **overrides: Any) -> Any:
    monkeypatch.setenv("SHOP_SMTP_URL", f"smtp://127.0.0.1:{port}")
    limits = {name: (1_000_000, 60.0) for name in ("read", "write", "login", "signup", "token")}
    client = await make_client(rate_limits=limits,
                               plugin_config={"mail": {"shop_name": "Test Shop", "from_address": "shop@shop.test"},
                                              "auth": overrides})
    rt = rt_of(client)
    assert rt.outbox is not None
    rt.outbox.policy.poll, rt.outbox.policy.backoff_base = 0.05, 0.05
    return client


async def _mails_to(server: Smtp, address: str, count: int = 1, within: float = 15.0) -> list[Any]:
    for _ in range(int(within / 0.05)):
        got = [m for m in server.inbox.messages if m["To"] == address]
        if len(got) >= count:
            return got
        await asyncio.sleep(0.05)
    return [m for m in server.inbox.messages if m["To"] == address]


def _token(mail: Any) -> str:
    text = mail.get_body(("plain",)).get_content()
    m = LINK.search(text)
    assert m, text
    return m.group(1)


async def test_a_reset_mail_sets_a_new_password_once_and_signs_every_session_out(make_client, monkeypatch):
    server = Smtp(free_port()).start()
    try:
        client = await _shop(make_client, monkeypatch, server.port)
        email = _email("reset")
        await create_user(client, email, name="Ada")
        device = await token_response(client, email, create=False)
        r = await client.post("/api/auth/password-reset", json={"email": email.upper()})
        assert r.status == 202 and await r.json() == {"accepted": True, "expiresIn": 1800}
        [mail] = await _mails_to(server, email)
        assert mail["Subject"] == "Reset your Test Shop password"
        assert "Hello Ada" in mail.get_body(("plain",)).get_content()
        token = _token(mail)
        # Only the hash is stored.
        db = authority_of(client).db
        assert await db.fetchval("SELECT count(*) FROM auth_password_reset WHERE token_hash = $1", token) == 0

        short = await client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "short"})
        assert short.status == 400 and (await short.json())["errors"][0]["field"] == "password"
        ok = await client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "brand-new-pw-1"})
        assert ok.status == 204 and await ok.read() == b""
        again = await client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "other-pw-22"})
        body = await again.json()
        assert again.status == 400 and body["reason"] == "RESET_TOKEN_INVALID"  # single use

        from plugins.auth import users

        assert await users.authenticate(db, email, DEFAULT_PASSWORD) is None
        assert await users.authenticate(db, email, "brand-new-pw-1") is not None
        assert (await client.get("/api/me", headers=bearer(device["access_token"]))).status == 401
        refreshed = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "web-client",
                                                            "refresh_token": device["refresh_token"]})
        assert refreshed.status == 400
    finally:
        server.stop()


async def test_unknown_emails_get_the_same_answer_and_no_mail(make_client, monkeypatch):
    server = Smtp(free_port()).start()
    try:
        client = await _shop(make_client, monkeypatch, server.port)
        known = _email("known")
        await create_user(client, known)
        unknown = _email("nobody")
        a = await client.post("/api/auth/password-reset", json={"email": unknown})
        b = await client.post("/api/auth/password-reset", json={"email": known})
        assert a.status == b.status == 202
        assert await a.json() == await b.json()
        assert a.headers.get("Content-Length") == b.headers.get("Content-Length")
        assert len(await _mails_to(server, known)) == 1
        await rt_of(client).outbox.drain()
        assert not [m for m in server.inbox.messages if m["To"] == unknown]
        bad = await client.post("/api/auth/password-reset", json={"email": "not an email"})
        assert bad.status == 400 and (await bad.json())["errors"][0]["field"] == "email"
        assert (await client.post("/api/auth/password-reset", json={})).status == 400
    finally:
        server.stop()


async def test_an_expired_or_forged_token_is_refused_and_a_newer_mail_replaces_nothing_else(make_client, monkeypatch):
    server = Smtp(free_port()).start()
    try:
        client = await _shop(make_client, monkeypatch, server.port)
        email = _email("expiry")
        await create_user(client, email)
        for _ in range(2):
            assert (await client.post("/api/auth/password-reset", json={"email": email})).status == 202
        first, second = [_token(m) for m in await _mails_to(server, email, 2)]
        db = authority_of(client).db
        forged = await client.post("/api/auth/password-reset/confirm",
                                   json={"token": "x" * 43, "password": "brand-new-pw-1"})
        assert forged.status == 400 and (await forged.json())["reason"] == "RESET_TOKEN_INVALID"
        # The first link is made to expire: refused; the second still works, and then spends the first too.
        from plugins.auth.reset import token_hash

        await db.execute("UPDATE auth_password_reset SET expires_at = now() - interval '1 second' "
                         "WHERE token_hash = $1", token_hash(first))
        late = await client.post("/api/auth/password-reset/confirm", json={"token": first, "password": "pw-late-12"})
        assert late.status == 400
        ok = await client.post("/api/auth/password-reset/confirm", json={"token": second, "password": "pw-second-1"})
        assert ok.status == 204
    finally:
        server.stop()


async def test_reset_requests_are_throttled_per_email_and_graphql_does_the_same(make_client, monkeypatch):
    server = Smtp(free_port()).start()
    try:
        client = await _shop(make_client, monkeypatch, server.port, reset_requests_per_email=2)
        email = _email("throttle")
        await create_user(client, email)
        for _ in range(2):
            assert (await client.post("/api/auth/password-reset", json={"email": email})).status == 202
        third = await client.post("/api/auth/password-reset", json={"email": email})
        assert third.status == 429 and int(third.headers["Retry-After"]) > 0
        other = _email("gql")
        await create_user(client, other)
        q = await client.post("/graphql", json={"query": 'mutation($e: String!) { requestPasswordReset(email: $e) '
                                                         '{ accepted expiresIn } }', "variables": {"e": other}})
        assert (await q.json())["data"]["requestPasswordReset"] == {"accepted": True, "expiresIn": 1800}
        token = _token((await _mails_to(server, other))[0])
        q = await client.post("/graphql", json={"query": 'mutation($t: String!) { resetPassword(token: $t, '
                                                         'password: "gql-new-password") { reset signedOut } }',
                                                "variables": {"t": token}})
        assert (await q.json())["data"]["resetPassword"] == {"reset": True, "signedOut": True}
    finally:
        server.stop()
