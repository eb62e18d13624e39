"""NUL, control characters and invalid UTF-8 in OAuth parameters and form fields: a clear 400, never a 500
and never a silently altered value. Sent raw over HTTP, as an attacker would."""

from __future__ import annotations

import base64
from html import unescape

import aiohttp
import pytest

from tests.support.auth_helpers import DEFAULT_PASSWORD, create_user

from .addresses import authorize_form
from .conftest import authority_of

# Raw, already percent-encoded values: NUL, a C0 control, DEL, a lone surrogate (CESU), bytes that are not UTF-8.
BAD = {"%00": "NUL", "%01": "control character", "%7F": "control character", "%ED%A0%80": "not valid UTF-8",
       "%FF": "not valid UTF-8"}


async def start(live):
    server = await live()
    return server, str(server.make_url("/")).rstrip("/"), authority_of(server)


async def raw_post(s: aiohttp.ClientSession, path: str, body: str | bytes, **headers: str) -> aiohttp.ClientResponse:
    return await s.post(path, data=body if isinstance(body, bytes) else body.encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded", **headers})


@pytest.mark.parametrize("bad, why", BAD.items())
async def test_bad_characters_in_authorize_parameters_are_a_400_page(live, bad, why):
    _server, base, authority = await start(live)
    redirect = f"{authority.issuer}/auth/callback".replace(":", "%3A").replace("/", "%2F")
    q = (f"response_type=code&client_id=web-client&redirect_uri={redirect}&scope=openid&state=ab{bad}cd"
         f"&code_challenge={'a' * 43}&code_challenge_method=S256")
    async with aiohttp.ClientSession(base) as s:
        r = await s.get(f"/oauth/authorize?{q}", allow_redirects=False)
        assert r.status == 400 and "'state'" in unescape(await r.text()) and why in await r.text()
        r = await s.get(f"/oauth/authorize?{q.replace('client_id=web-client', f'client_id=web{bad}')}",
                        allow_redirects=False)
        assert r.status == 400 and "'client_id'" in unescape(await r.text())


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize("bad, why", BAD.items())
async def test_bad_characters_in_token_revoke_and_introspect_are_invalid_request(live, path, bad, why):
    _server, base, _authority = await start(live)
    async with aiohttp.ClientSession(base) as s:
        for body in (f"grant_type=client_credentials&client_id=c{bad}x&token=t",
                     f"grant_type=authorization_code&client_id=web-client&code=ab{bad}&token=x{bad}"):
            r = await raw_post(s, path, body)
            data = await r.json()
            assert r.status == 400 and data["error"] == "invalid_request" and why in data["error_description"]


async def test_raw_non_utf8_bytes_and_bad_basic_credentials_are_invalid_request(live):
    _server, base, _authority = await start(live)
    async with aiohttp.ClientSession(base) as s:
        r = await raw_post(s, "/oauth/token", b"grant_type=client_credentials&client_id=\xff\xfe")
        assert r.status == 400 and (await r.json())["error"] == "invalid_request"
        basic = base64.b64encode(b"client\x00id:secret").decode()
        r = await raw_post(s, "/oauth/token", "grant_type=client_credentials", Authorization=f"Basic {basic}")
        body = await r.json()
        assert r.status == 400 and body["error"] == "invalid_request" and "NUL" in body["error_description"]


@pytest.mark.parametrize("field", ["email", "password", "name"])
@pytest.mark.parametrize("bad, why", BAD.items())
async def test_bad_characters_in_sign_in_and_sign_up_fields_re_show_the_form_with_400(live, field, bad, why):
    server, base, authority = await start(live)

    class _C:
        pass

    c = _C()
    c.server = server
    await create_user(c, "clean@example.test")
    async with aiohttp.ClientSession(base) as s:
        for prompt in (None, "create"):
            form, _ = await authorize_form(s, authority.issuer, prompt=prompt)
            fields = {**form, "email": "clean@example.test", "password": DEFAULT_PASSWORD, "name": "Clean"}
            from urllib.parse import quote

            body = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items() if k != field)
            body += f"&{field}=ab{bad}cd"
            r = await raw_post(s, "/oauth/authorize", body)
            html = unescape(await r.text())
            assert r.status == 400, html
            assert f"'{field}'" in html and why in html
            assert "<form" in html  # the form again, to correct
            assert "ab\x00cd" not in html and "%00" not in html  # the bad value is not echoed back
