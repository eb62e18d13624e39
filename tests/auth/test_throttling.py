"""Sign-in, sign-up and token-endpoint throttling: attackers are slowed, the real user is not locked out.

Attacks come over HTTP from many client addresses (127.0.0.x) against a live server.
"""

from __future__ import annotations

import base64

from tests.support.auth_helpers import DEFAULT_PASSWORD, create_user

from .addresses import post_form, session_from, sign_in
from .conftest import authority_of

THROTTLE = {"signin_failures_per_pair": 3, "signin_failures_per_address": 8, "signin_failures_per_account": 12,
            "token_failures_per_pair": 3, "token_failures_per_address": 8, "token_failures_per_account": 12}


async def start(live, **auth):
    server = await live(plugin_config={"auth": {**THROTTLE, **auth}})
    base = str(server.make_url("/"))
    return server, base.rstrip("/"), authority_of(server).issuer


async def user(server, email):
    class _C:  # create_user wants something with .server.app
        pass
    c = _C()
    c.server = server
    return await create_user(c, email)


async def test_failures_from_one_address_are_refused_but_the_user_signs_in_from_another(live):
    server, base, issuer = await start(live)
    await user(server, "victim@example.test")
    statuses = [(await sign_in(base, issuer, "127.0.0.2", "victim@example.test", "wrong password"))[0]
                for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    # Even the right password is refused from the throttled address for now...
    status, body = await sign_in(base, issuer, "127.0.0.2", "victim@example.test", DEFAULT_PASSWORD)
    assert status == 429 and "Too many attempts" in body
    # ...but the real user, elsewhere, is not locked out.
    status, location = await sign_in(base, issuer, "127.0.0.3", "victim@example.test", DEFAULT_PASSWORD)
    assert status == 303 and "code=" in location


async def test_failures_spread_over_many_addresses_do_not_lock_out_a_known_address(live):
    server, base, issuer = await start(live)
    await user(server, "spray@example.test")
    # The user signed in from home once.
    assert (await sign_in(base, issuer, "127.0.0.10", "spray@example.test", DEFAULT_PASSWORD))[0] == 303
    # Now 6 addresses each fail within their per-pair allowance: 12 failures, the account's ceiling.
    for i in range(6):
        for _ in range(2):
            assert (await sign_in(base, issuer, f"127.0.1.{i + 1}", "spray@example.test", "nope nope"))[0] == 401
    # A fresh address (maybe the attacker's next one) now waits...
    status, _ = await sign_in(base, issuer, "127.0.2.1", "spray@example.test", "nope nope")
    assert status == 429
    # ...but the user's own address still signs in with the right password.
    status, location = await sign_in(base, issuer, "127.0.0.10", "spray@example.test", DEFAULT_PASSWORD)
    assert status == 303 and "code=" in location


async def test_a_fresh_address_signs_in_while_others_failed_below_the_account_ceiling(live):
    server, base, issuer = await start(live, signin_failures_per_account=100)
    await user(server, "fresh@example.test")
    for i in range(5):
        for _ in range(3):
            await sign_in(base, issuer, f"127.0.3.{i + 1}", "fresh@example.test", "wrong wrong")
    status, location = await sign_in(base, issuer, "127.0.3.200", "fresh@example.test", DEFAULT_PASSWORD)
    assert status == 303 and "code=" in location


async def test_one_address_guessing_many_accounts_is_throttled_per_address(live):
    _server, base, issuer = await start(live)
    statuses = [(await sign_in(base, issuer, "127.0.4.1", f"u{i}@example.test", "guess guess"))[0] for i in range(10)]
    assert statuses[:8] == [401] * 8 and statuses[8:] == [429, 429]
    # Other addresses are unaffected.
    assert (await sign_in(base, issuer, "127.0.4.2", "u1@example.test", "guess guess"))[0] == 401


async def test_sign_up_failures_are_throttled_per_address_not_for_everyone(live):
    from .addresses import authorize_form

    server, base, issuer = await start(live)
    await user(server, "taken@example.test")

    async def sign_up(source: str, email: str) -> int:
        async with session_from(base, source) as s:
            form, _ = await authorize_form(s, issuer, prompt="create")
            form.update(email=email, password=DEFAULT_PASSWORD, name="X")
            return (await s.post("/oauth/authorize", data=form, allow_redirects=False)).status

    statuses = [await sign_up("127.0.5.1", "taken@example.test") for _ in range(5)]
    assert statuses[:3] == [409, 409, 409] and statuses[3:] == [429, 429]
    assert await sign_up("127.0.5.2", "newcomer@example.test") == 303


async def test_token_endpoint_secret_guessing_does_not_lock_out_the_real_client(live):
    server, base, _issuer = await start(live)
    cid, secret = await authority_of(server).create_client("Partner", [], ["catalog:read"], True)

    def basic(s: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{s}".encode()).decode()}

    form = {"grant_type": "client_credentials"}
    async with session_from(base, "127.0.6.1") as s:
        got = [(await post_form(s, "/oauth/token", form, headers=basic("guess")))[0] for _ in range(5)]
        assert got[:3] == [401, 401, 401] and got[3:] == [429, 429]
        status, body = await post_form(s, "/oauth/token", form, headers=basic(secret))
        assert status == 429 and body["error"] == "temporarily_unavailable"
    async with session_from(base, "127.0.6.2") as s:
        status, body = await post_form(s, "/oauth/token", form, headers=basic(secret))
        assert status == 200 and body["access_token"]
