"""The auth CLI: clients never get admin unless asked, list/delete/rotate-secret, passwords from a prompt or stdin,
and a one-line error with a non-zero exit on bad input."""

from __future__ import annotations

import base64
import io
import uuid

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from kernel.host.app import create_app
from tests.conftest import ROOT
from tests.support.live import run_async


@pytest.fixture
def cli(database_url, servers, monkeypatch, capsys):
    from kernel.commands.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", servers["redis"])
    monkeypatch.setenv("SHOP_HOME", str(ROOT))
    monkeypatch.delenv("SHOP_CONFIG", raising=False)

    def run(*args: str) -> tuple[int, object, str]:
        rc = main(list(args))
        captured = capsys.readouterr()
        return rc, (orjson.loads(captured.out) if captured.out.strip() else None), captured.err

    return run


def test_a_client_gets_admin_only_when_asked_explicitly(cli):
    rc, out, _ = cli("oauth-clients", "create", "--name", "App", "--redirect-uri", "https://app.example/cb")
    assert rc == 0 and "admin" not in out["scopes"] and "orders:manage" not in out["scopes"]
    assert "orders:read" in out["scopes"] and "openid" in out["scopes"]
    rc, out, _ = cli("oauth-clients", "create", "--name", "Ops", "--confidential", "--scope", "admin catalog:read")
    assert rc == 0 and out["scopes"] == ["admin", "catalog:read"] and out["introspection"] is False
    rc, out, _ = cli("oauth-clients", "create", "--name", "RS", "--confidential", "--scope", "openid",
                     "--introspection")
    assert rc == 0 and out["introspection"] is True


def token_status(settings, cid: str, secret: str) -> int:
    """client_credentials against a server started for the occasion (the CLI needs no loop running)."""

    async def go() -> int:
        server = TestServer(create_app(settings))
        await server.start_server()
        try:
            basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
            async with aiohttp.ClientSession() as s:
                r = await s.post(server.make_url("/oauth/token"), data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})
                return r.status
        finally:
            await server.close()

    return int(run_async(go()))


def test_list_delete_and_rotate_secret(cli, settings):
    rc, created, _ = cli("oauth-clients", "create", "--name", "Rotating", "--confidential", "--scope", "catalog:read")
    cid, old = created["client_id"], created["client_secret"]
    rc, listed, _ = cli("oauth-clients", "list")
    mine = [c for c in listed if c["client_id"] == cid]
    assert rc == 0 and mine and mine[0]["name"] == "Rotating" and "client_secret" not in mine[0]
    assert "secret_hash" not in mine[0] and any(c["client_id"] == "web-client" for c in listed)
    rc, rotated, _ = cli("oauth-clients", "rotate-secret", "--client-id", cid)
    assert rc == 0 and rotated["client_secret"] != old

    def token(secret: str) -> int:
        return token_status(settings, cid, secret)

    assert token(old) == 401 and token(rotated["client_secret"]) == 200
    rc, out, _ = cli("oauth-clients", "delete", "--client-id", cid)
    assert rc == 0 and out == {"client_id": cid, "deleted": True}
    assert token(rotated["client_secret"]) == 401
    rc, _, err = cli("oauth-clients", "delete", "--client-id", cid)
    assert rc == 2 and "no client" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (("oauth-clients", "delete", "--client-id", "web-client"), "cannot be deleted"),
    (("oauth-clients", "rotate-secret", "--client-id", "nobody"), "no confidential client"),
    (("oauth-clients", "rotate-secret", "--client-id", "bad\x00id"), "NUL"),
    (("oauth-clients", "create", "--name", "X", "--confidential", "--scope", "root"), "--scope must be among"),
    (("oauth-clients", "create", "--name", "X\x07", "--confidential", "--scope", "openid"), "control character"),
    (("users", "disable"), "exactly one of --email or --id"),
    (("users", "create", "--email", "not-an-email", "--password", "long enough pw"), "email"),
])
def test_bad_input_is_a_one_line_error_and_a_non_zero_exit(cli, args, message):
    rc, out, err = cli(*args)
    assert rc != 0 and out is None
    assert message in err and len(err.strip().splitlines()) == 1


def test_users_create_reads_the_password_from_stdin(cli, monkeypatch):
    email = f"stdin-{uuid.uuid4().hex[:8]}@example.test"
    monkeypatch.setattr("sys.stdin", io.StringIO("piped password 1\n"))
    rc, out, _ = cli("users", "create", "--email", email)
    assert rc == 0 and out["email"] == email
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    rc, _, err = cli("users", "create", "--email", "empty-" + email)
    assert rc == 2 and "no password" in err


def test_users_create_prompts_for_the_password_on_a_terminal(cli, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["typed password 1", "typed password 1", "one", "two"])
    monkeypatch.setattr("sys.stdin", Tty())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    email = f"tty-{uuid.uuid4().hex[:8]}@example.test"
    rc, out, _ = cli("users", "create", "--email", email)
    assert rc == 0 and out["email"] == email
    rc, _, err = cli("users", "create", "--email", "other-" + email)
    assert rc == 2 and "differ" in err
