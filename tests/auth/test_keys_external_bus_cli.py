"""Key rotation, external OIDC issuers, the Users bus service, and the CLI."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from plugins.auth.contract import FindUserByEmail, GetUser, Users
from tests.conftest import rt_of
from tests.support.auth_helpers import bearer, create_user, user_token
from tests.support.fake_identity import user_principal

from .conftest import authority_of


async def test_rotated_keys_keep_old_tokens_valid_and_both_in_jwks(make_client):
    client = await make_client()
    old_token = await user_token(client, "rot@example.test")
    authority = authority_of(client)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new_kid = await authority.keys.rotate()
    assert new_kid != old_kid
    kids = {k["kid"] for k in (await (await client.get("/oauth/jwks")).json())["keys"]}
    assert {old_kid, new_kid} <= kids
    assert (await client.get("/api/me", headers=bearer(old_token))).status == 200
    new_token = await user_token(client, "rot@example.test")
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    # Another process (a second app on the same database) learns the new key on first sight.
    other = await make_client()
    assert (await other.get("/api/me", headers=bearer(new_token))).status == 200


async def test_private_keys_are_encrypted_when_a_secret_key_is_set(make_client):
    client = await make_client(secret_key="s3cret-for-tests")
    authority = authority_of(client)
    kid = await authority.keys.rotate()
    row = await authority.db.fetchrow("SELECT encrypted, private_pem FROM auth_signing_key WHERE kid = $1", kid)
    assert row["encrypted"] and b"ENCRYPTED PRIVATE KEY" in bytes(row["private_pem"])
    token = await user_token(client, "enc@example.test")
    assert jwt.get_unverified_header(token)["kid"] == kid
    assert (await client.get("/api/me", headers=bearer(token))).status == 200
    # Leave the shared database with a key the other tests' apps (no secret) can read:
    # a server refuses to start on a signing key it cannot decrypt.
    authority.keys.password = None
    await authority.keys.rotate()


@pytest.fixture
async def external_issuer(aiohttp_server: Any) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="ext-1", alg="RS256", use="sig")

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response({"keys": [jwk]})

    app = web.Application()
    app.router.add_get("/jwks", jwks)
    server = await aiohttp_server(app)
    issuer = str(server.make_url("")).rstrip("/")
    return {"key": key, "issuer": issuer, "jwks": f"{issuer}/jwks", "audience": "shop-api"}


def _ext_token(ext: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ext["issuer"], "sub": "ext-user-1", "aud": ext["audience"], "exp": now + 300, "iat": now,
            "email": "ext@example.test", "name": "Ext", "scope": "openid catalog:read admin", **claims}
    return jwt.encode(body, ext["key"], algorithm="RS256", headers={"kid": "ext-1"})


async def test_external_issuer_tokens_map_to_a_local_user_created_on_first_sight(make_client, external_issuer):
    ext = external_issuer
    conf = {"auth": {"external_issuers": [{"issuer": ext["issuer"], "jwks": ext["jwks"],
                                           "audience": ext["audience"]}]}}
    client = await make_client(plugin_config=conf)
    r = await client.get("/api/me", headers=bearer(_ext_token(ext)))
    assert r.status == 200, await r.text()
    first = await r.json()
    assert first["email"] == "ext@example.test" and first["roles"] == []
    again = await (await client.get("/api/me", headers=bearer(_ext_token(ext)))).json()
    assert again["id"] == first["id"]
    for bad in (_ext_token(ext, aud="other"), _ext_token(ext, exp=int(time.time()) - 600),
                _ext_token(ext, iss="https://unknown.example")):
        assert (await client.get("/api/me", headers=bearer(bad))).status == 401
    # Without the configuration the same token is refused.
    plain = await make_client()
    assert (await plain.get("/api/me", headers=bearer(_ext_token(ext)))).status == 401


async def test_users_bus_methods(make_client):
    client = await make_client()
    user = await create_user(client, "Bus@Example.test")
    bus = rt_of(client).bus
    ctx = CallContext(principal=user_principal("someone")).nested()
    found = await bus.call(Users.find_user_by_email, FindUserByEmail(email="bus@example.TEST"), ctx)
    assert found.id == user["id"]
    assert (await bus.call(Users.get_user, GetUser(user_id=user["id"]), ctx)).email == "Bus@Example.test"
    with pytest.raises(BusError) as err:
        await bus.call(Users.get_user, GetUser(user_id="not-a-uuid"), ctx)
    assert err.value.status is Status.NOT_FOUND
    with pytest.raises(BusError) as err:  # internal: not callable from outside
        await bus.call(Users.find_user_by_email, FindUserByEmail(email="bus@example.test"), CallContext())
    assert err.value.status is Status.PERMISSION_DENIED


def test_cli_creates_users_and_clients_and_rotates_keys(database_url, servers, monkeypatch, capsys):
    from kernel.commands.cli import main
    from tests.conftest import ROOT

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", servers["redis"])
    monkeypatch.setenv("SHOP_HOME", str(ROOT))
    monkeypatch.delenv("SHOP_CONFIG", raising=False)
    assert main(["users", "create", "--email", "cli@example.test", "--password", "cli password 1", "--admin"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["roles"] == ["admin"]
    assert main(["users", "create", "--email", "cli@example.test", "--password", "cli password 1"]) != 0
    assert "already exists" in capsys.readouterr().err
    assert main(["oauth-clients", "create", "--name", "Partner", "--confidential", "--scope", "catalog:read"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["client_id"] and out["client_secret"] and out["scopes"] == ["catalog:read"]
    assert main(["oauth-clients", "create", "--name", "App", "--redirect-uri", "https://app.example/cb"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert "client_secret" not in out
    assert main(["oauth-clients", "create", "--name", "Bad", "--redirect-uri", "http://evil.example/cb"]) == 2
    assert main(["oauth-clients", "create", "--name", "Bad", "--confidential", "--scope", "root"]) == 2
    assert main(["keys", "rotate"]) == 0
    assert orjson.loads(capsys.readouterr().out)["kid"]
