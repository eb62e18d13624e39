"""CLI: ``shop users create|disable|enable|delete``, ``shop oauth-clients create|list|delete|rotate-secret``,
``shop keys rotate``. Every command exits non-zero with a one-line error on bad input."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any
from urllib.parse import urlsplit

import orjson

from kernel.core.status import BusError
from kernel.host.loader import migration_apps
from kernel.host.plugin import CliError, Command
from kernel.storage.migrate import migrate

from . import scopes as sc
from . import users
from .authority import WEB_CLIENT, OAuthError
from .hygiene import first_invalid


async def _ready(rt: Any) -> Any:
    await migrate(rt.db, migration_apps(rt.settings, rt.plugins))
    from . import authority_of

    authority = authority_of(rt)
    await authority.start()
    return authority


def _print(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


def read_password(args: argparse.Namespace) -> str:
    """--password, else a prompt on a terminal (asked twice), else the first line of stdin."""
    if args.password is not None:
        password: str = args.password
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise CliError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("no password: give --password, type it at the prompt, or pipe it on stdin")
    return password


def _clean(**values: str) -> None:
    bad = first_invalid(values.items())
    if bad is not None:
        raise CliError(bad)


async def users_create(args: argparse.Namespace, rt: Any) -> int:
    password = read_password(args)
    _clean(email=args.email, name=args.name or "", password=password)
    await _ready(rt)
    roles = ("admin",) if args.admin else ()
    try:
        row = await users.create_user(rt.db, args.email, password, args.name or "", roles)
    except BusError as exc:
        raise CliError(exc.public_message) from None
    u = users.to_message(row)
    _print({"id": u.id, "email": u.email, "name": u.name, "roles": list(u.roles), "createdAt": u.created_at})
    return 0


async def _find_user(args: argparse.Namespace, rt: Any) -> Any:
    _clean(email=args.email or "", id=args.id or "")
    if bool(args.email) == bool(args.id):
        raise CliError("give exactly one of --email or --id")
    row = await users.find_by_email(rt.db, args.email) if args.email else await users.get_user(rt.db, args.id)
    if row is None:
        raise CliError(f"no user {args.email or args.id!r}")
    return row


async def users_disable(args: argparse.Namespace, rt: Any) -> int:
    authority = await _ready(rt)
    row = await _find_user(args, rt)
    await authority.disable_user(row["id"])  # every token of theirs stops working now
    _print({"id": row["id"], "email": row["email"], "disabled": True})
    return 0


async def users_enable(args: argparse.Namespace, rt: Any) -> int:
    authority = await _ready(rt)
    row = await _find_user(args, rt)
    await authority.enable_user(row["id"])
    _print({"id": row["id"], "email": row["email"], "disabled": False})
    return 0


async def users_delete(args: argparse.Namespace, rt: Any) -> int:
    authority = await _ready(rt)
    row = await _find_user(args, rt)
    if not args.yes:
        raise CliError(f"deleting {row['email']} cannot be undone; add --yes to confirm")
    await authority.delete_user(row["id"])
    _print({"id": row["id"], "email": row["email"], "deleted": True})
    return 0


def _valid_redirect(uri: str) -> bool:
    p = urlsplit(uri)
    if p.fragment or not p.netloc:
        return False
    # https, or http on loopback only (RFC 8252 native apps and local development).
    return p.scheme == "https" or (p.scheme == "http" and p.hostname in ("localhost", "127.0.0.1", "::1"))


async def clients_create(args: argparse.Namespace, rt: Any) -> int:
    name = (args.name or "").strip()
    _clean(name=name, **{f"redirect-uri {i + 1}": u for i, u in enumerate(args.redirect_uri or [])},
           scope=" ".join(args.scope or []))
    if not 1 <= len(name) <= 200:
        raise CliError("--name must be 1 to 200 characters")
    redirects: list[str] = args.redirect_uri or []
    bad = [u for u in redirects if not _valid_redirect(u)]
    if bad:
        raise CliError(f"--redirect-uri {bad[0]!r} must be an absolute https URL (or http on localhost) "
                       "without a fragment")
    registry = rt.scopes
    requested = sc.parse(" ".join(args.scope or []).replace(",", " "), registry)
    if requested is None:
        raise CliError(f"--scope must be among: {' '.join(registry.names())}")
    if not redirects and not args.confidential:
        raise CliError("give --redirect-uri (a public client) or --confidential (client_credentials), or both")
    if args.confidential and not requested:
        raise CliError("a confidential client needs at least one --scope")
    if not requested:
        # Never admin (nor what it implies) by default: only when asked for with --scope admin.
        requested = sc.user_default(registry) if redirects else []
    authority = await _ready(rt)
    client_id, secret = await authority.create_client(name, redirects, requested, bool(args.confidential),
                                                      bool(args.introspection))
    out: dict[str, Any] = {"client_id": client_id, "name": name, "confidential": bool(args.confidential),
                           "redirect_uris": redirects, "scopes": requested, "introspection": bool(args.introspection)}
    if secret is not None:
        out["client_secret"] = secret
    _print(out)
    return 0


async def clients_list(args: argparse.Namespace, rt: Any) -> int:
    authority = await _ready(rt)
    _print(await authority.list_clients())
    return 0


def _client_id(args: argparse.Namespace) -> str:
    _clean(client_id=args.client_id)
    if not 1 <= len(args.client_id) <= 100:
        raise CliError("--client-id must be 1 to 100 characters")
    return str(args.client_id)


async def clients_delete(args: argparse.Namespace, rt: Any) -> int:
    client_id = _client_id(args)
    if client_id == WEB_CLIENT:
        raise CliError("web-client is the storefront's own client and cannot be deleted")
    authority = await _ready(rt)
    try:
        deleted = await authority.delete_client(client_id)
    except OAuthError as exc:
        raise CliError(exc.description) from None
    if not deleted:
        raise CliError(f"no client {client_id!r}")
    _print({"client_id": client_id, "deleted": True})
    return 0


async def clients_rotate_secret(args: argparse.Namespace, rt: Any) -> int:
    client_id = _client_id(args)
    authority = await _ready(rt)
    secret = await authority.rotate_secret(client_id)
    if secret is None:
        raise CliError(f"no confidential client {client_id!r} (public clients have no secret)")
    _print({"client_id": client_id, "client_secret": secret})
    return 0


async def keys_rotate(args: argparse.Namespace, rt: Any) -> int:
    authority = await _ready(rt)
    kid = await authority.keys.rotate()
    _print({"kid": kid, "alg": authority.keys.alg})
    return 0


def commands() -> list[Command]:
    def users_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--email", required=True)
        p.add_argument("--password", help="omit to type it at a prompt or pipe it on stdin (kept out of "
                                          "the shell history)")
        p.add_argument("--name", default="")
        p.add_argument("--admin", action="store_true", help="give the admin role")

    def which_user(p: argparse.ArgumentParser) -> None:
        p.add_argument("--email")
        p.add_argument("--id")

    def delete_user_args(p: argparse.ArgumentParser) -> None:
        which_user(p)
        p.add_argument("--yes", action="store_true", help="confirm: the account and its tokens are deleted")

    def client_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--name", required=True)
        p.add_argument("--redirect-uri", action="append", help="registered redirect URI (repeatable)")
        p.add_argument("--confidential", action="store_true", help="a client with a secret (client_credentials)")
        p.add_argument("--scope", action="append", help="allowed scope (repeatable, or space separated); "
                       "admin only when named")
        p.add_argument("--introspection", action="store_true",
                       help="may introspect any token (a resource server), not only its own")

    def client_id_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--client-id", required=True)

    return [
        Command(("users", "create"), "create a user (password from --password, a prompt or stdin)", users_args,
                users_create),
        Command(("users", "disable"), "disable a user: sign-in refused, every token stops working now", which_user,
                users_disable),
        Command(("users", "enable"), "enable a disabled user again", which_user, users_enable),
        Command(("users", "delete"), "delete a user and revoke every token of theirs", delete_user_args,
                users_delete),
        Command(("oauth-clients", "create"), "register an OAuth client; prints client_id (and client_secret)",
                client_args, clients_create),
        Command(("oauth-clients", "list"), "list the OAuth clients (never their secrets)", lambda p: None,
                clients_list),
        Command(("oauth-clients", "delete"), "delete an OAuth client; its tokens stop working", client_id_arg,
                clients_delete),
        Command(("oauth-clients", "rotate-secret"), "give a confidential client a new secret (the old one stops "
                "working); prints it", client_id_arg, clients_rotate_secret),
        Command(("keys", "rotate"), "start signing tokens with a new key (old keys stay in the JWKS until "
                "their tokens expire)", lambda p: None, keys_rotate),
    ]
