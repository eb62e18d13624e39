"""CLI: ``shop users create``, ``shop oauth-clients create``, ``shop keys rotate``."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import urlsplit

import orjson

from kernel.cli import CliError, Command, migration_apps
from kernel.migrate import migrate
from kernel.status import BusError

from . import scopes as sc
from . import users


async def _ready(rt: Any) -> Any:
    await migrate(rt.db, migration_apps(rt.settings, rt.plugins))
    authority = rt.auth_authority
    await authority.start()
    return authority


def _print(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


async def users_create(args: argparse.Namespace, rt: Any) -> int:
    await _ready(rt)
    roles = ("admin",) if args.admin else ()
    try:
        row = await users.create_user(rt.db, args.email, args.password, args.name or "", roles)
    except BusError as exc:
        raise CliError(exc.public_message) from None
    u = users.to_message(row)
    _print({"id": u.id, "email": u.email, "name": u.name, "roles": list(u.roles), "createdAt": u.created_at})
    return 0


def _valid_redirect(uri: str) -> bool:
    p = urlsplit(uri)
    if p.fragment or not p.netloc:
        return False
    # https, or http on loopback only (RFC 8252 native apps and local development).
    return p.scheme == "https" or (p.scheme == "http" and p.hostname in ("localhost", "127.0.0.1", "::1"))


async def clients_create(args: argparse.Namespace, rt: Any) -> int:
    name = (args.name or "").strip()
    if not 1 <= len(name) <= 200:
        raise CliError("--name must be 1 to 200 characters")
    redirects: list[str] = args.redirect_uri or []
    bad = [u for u in redirects if not _valid_redirect(u)]
    if bad:
        raise CliError(f"--redirect-uri {bad[0]!r} must be an absolute https URL (or http on localhost) "
                       "without a fragment")
    requested = sc.parse(" ".join(args.scope or []).replace(",", " "))
    if requested is None:
        raise CliError(f"--scope must be among: {' '.join(sc.SUPPORTED)}")
    if not redirects and not args.confidential:
        raise CliError("give --redirect-uri (a public client) or --confidential (client_credentials), or both")
    if args.confidential and not requested:
        raise CliError("a confidential client needs at least one --scope")
    if not requested:
        requested = list(sc.SUPPORTED if redirects else ())
    authority = await _ready(rt)
    client_id, secret = await authority.create_client(name, redirects, requested, bool(args.confidential))
    out: dict[str, Any] = {"client_id": client_id, "name": name, "confidential": bool(args.confidential),
                           "redirect_uris": redirects, "scopes": requested}
    if secret is not None:
        out["client_secret"] = secret
    _print(out)
    return 0


async def keys_rotate(args: argparse.Namespace, rt: Any) -> int:
    authority = await _ready(rt)
    kid = await authority.keys.rotate()
    _print({"kid": kid, "alg": authority.keys.alg})
    return 0


def commands() -> list[Command]:
    def users_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--email", required=True)
        p.add_argument("--password", required=True)
        p.add_argument("--name", default="")
        p.add_argument("--admin", action="store_true", help="give the admin role")

    def client_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--name", required=True)
        p.add_argument("--redirect-uri", action="append", help="registered redirect URI (repeatable)")
        p.add_argument("--confidential", action="store_true", help="a client with a secret (client_credentials)")
        p.add_argument("--scope", action="append", help="allowed scope (repeatable, or space separated)")

    return [
        Command(("users", "create"), "create a user", users_args, users_create),
        Command(("oauth-clients", "create"), "register an OAuth client; prints client_id (and client_secret)",
                client_args, clients_create),
        Command(("keys", "rotate"), "start signing tokens with a new key (old keys stay in the JWKS until "
                "their tokens expire)", lambda p: None, keys_rotate),
    ]
