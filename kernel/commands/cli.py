"""The ``shop`` command line. Plugins add commands through the ``shop_cli`` hook.

Every command exits non-zero with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from aiohttp import web

from .. import __version__
from ..core.status import BusError
from ..engine.config import ConfigError, Settings, load_settings
from ..engine.runtime import Runtime, build_runtime
from ..host.app import LENIENT_START, create_app, runtime_of
from ..host.loader import ENTRY_POINT_GROUP, call_each, discover, migration_apps
from ..host.plugin import CliError, Command, LoadedPlugin, PluginContext, PluginError
from ..storage.embedded import EmbeddedServices, EmbeddedUnavailable
from ..storage.migrate import migrate, migration_status
from . import scaffold
from . import serve as serve_mod

log = logging.getLogger("shop.kernel.cli")


def _print_json(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


@contextlib.contextmanager
def services(settings: Settings) -> Iterator[Settings]:
    """Start embedded PostgreSQL/Valkey for whichever URL is unset; stop them after."""
    need_db, need_redis = not settings.database_url, not settings.redis_url
    emb = EmbeddedServices(settings.data_dir)
    try:
        if need_db or need_redis:
            emb.start(need_db, need_redis)
        yield settings.with_(
            database_url=settings.database_url or emb.database_url,
            redis_url=settings.redis_url or emb.redis_url,
        )
    finally:
        emb.stop()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """A started app without a listening socket: for CLI commands (no outbox worker)."""
    app = create_app(settings.with_(outbox_worker=False))
    app[LENIENT_START] = True  # e.g. `shop keys rotate` must start to fix an unreadable signing key
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield runtime_of(app)
    finally:
        await runner.cleanup()


# --------------------------------------------------------------- kernel commands


async def _cmd_migrate(args: argparse.Namespace, rt: Runtime) -> int:
    if args.status:
        done, pending = await migration_status(rt.db, migration_apps(rt.settings, rt.plugins))
        if args.json:
            _print_json({"applied": done, "pending": pending})
        else:
            for name in done:
                print(f"applied  {name}")
            for name in pending:
                print(f"pending  {name}")
            print(f"{len(done)} applied, {len(pending)} pending" + (": run `shop migrate`" if pending else ""))
        return 1 if pending else 0
    applied = await migrate(rt.db, migration_apps(rt.settings, rt.plugins))
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else " (up to date)"))
    return 0


async def _cmd_seed(args: argparse.Namespace, rt: Runtime) -> int:
    if not args.demo:
        raise CliError("say what to seed: shop seed --demo [--products N]")
    await migrate(rt.db, migration_apps(rt.settings, rt.plugins))
    seeders = call_each(rt.pm, rt.plugins, "shop_seed_demo", lambda lp: _plugin_ctx(rt, lp))
    for lp, fn in seeders:
        summary = await fn(rt, vars(args))
        print(f"{lp.info.name}: {summary}")
    return 0


async def _cmd_events_status(args: argparse.Namespace, rt: Runtime) -> int:
    if rt.outbox is None:
        raise CliError("no outbox in this runtime")
    status = await rt.outbox.status()
    if args.json:
        _print_json(status)
        return 0
    print(f"outbox: {status['pending']} pending, {status['dead']} dead, "
          f"oldest pending {status['oldestPendingSeconds']:.1f} s")
    for h in status["handlers"]:
        print(f"  {h['handler']}: pending {h['pending']} (due {h['due']}, retrying {h['retrying']}), "
              f"dead {h['dead']}, oldest {h['oldestPendingSeconds']:.1f} s")
    for d in status["recentDead"]:
        print(f"  dead task {d['task']} {d['handler']} {d['topic']} event {d['eventId']} "
              f"after {d['attempts']} attempts: {d['error']}")
    return 0


async def _cmd_events_retry_dead(args: argparse.Namespace, rt: Runtime) -> int:
    if rt.outbox is None:
        raise CliError("no outbox in this runtime")
    n = await rt.outbox.retry_dead(args.handler)
    print(f"{n} dead task(s) queued again")
    return 0


def _plugin_ctx(rt: Runtime, lp: LoadedPlugin) -> PluginContext:
    return PluginContext(name=lp.info.name, settings=rt.settings, config=lp.config, runtime=rt,
                         log=logging.getLogger(f"shop.plugins.{lp.info.name}"))


async def _cmd_plugins_list(args: argparse.Namespace, rt: Any) -> int:
    settings: Settings = args.settings
    from importlib.metadata import entry_points


    installed = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    settings = settings.with_(database_url=settings.database_url or "postgresql://unused/none")
    app = create_app(settings)
    rt2 = runtime_of(app)
    loaded = {lp.info.name: lp for lp in rt2.plugins}
    rows = []
    for name in installed:
        lp = loaded.get(name)
        rows.append({
            "name": name,
            "enabled": lp is not None,
            "version": lp.info.version if lp else None,
            "requires": list(lp.info.requires) if lp else [],
            "description": lp.info.description if lp else "",
            "contributes": lp.contributions if lp else {},
        })
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        state = "enabled " if r["enabled"] else "disabled"
        print(f"{r['name']:<12} {state} {r['version'] or '-':<8} {r['description']}")
        for kind, items in sorted(r["contributes"].items()):
            print(f"    {kind}: {len(items)}  ({', '.join(items[:6])}{', ...' if len(items) > 6 else ''})")
    return 0


def _serve_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to listen on (default 127.0.0.1, or SHOP_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080, or SHOP_PORT)")
    p.add_argument("--workers", type=int, default=None, help="worker processes sharing the port (default 1)")
    p.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations at start")


def serve(settings: Settings, migrate_first: bool = True) -> int:
    """Apply pending migrations (or, with ``--no-migrate``, check that their folders are
    there), then serve until SIGTERM/SIGINT: see :mod:`kernel.commands.serve`."""
    if migrate_first:
        asyncio.run(_migrate_only(settings))
    else:
        _pm, plugins = discover(settings)
        migration_apps(settings, plugins)
    try:
        return serve_mod.run(settings)
    except serve_mod.ServeError as exc:
        raise CliError(str(exc)) from None


async def _migrate_only(settings: Settings) -> None:
    async with running(settings) as rt:
        applied = await migrate(rt.db, migration_apps(settings, rt.plugins))
        if applied:
            print(f"applied {len(applied)} migration(s)", flush=True)


def _seed_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true", help="create the demo shop")
    p.add_argument("--products", type=int, default=None, help="number of demo products (for benchmarks)")
    p.add_argument("--if-empty", action="store_true", help="only when the shop has no data yet")


def _migrate_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", action="store_true",
                   help="list applied and pending migrations, apply nothing (exit 1 when some are pending)")
    _json_flag(p)


def _retry_dead_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--handler", default=None, help="only this handler's tasks")


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


KERNEL_COMMANDS = [
    Command(("migrate",), "apply pending migrations (kernel, then each plugin in load order)",
            lambda p: _migrate_configure(p), _cmd_migrate),
    Command(("seed",), "create demo data",
            lambda p: _seed_configure(p), _cmd_seed),
    Command(("plugins", "list"), "list installed plugins: enabled?, version, contributions",
            lambda p: _json_flag(p), _cmd_plugins_list, needs_runtime=False),
    Command(("events", "status"), "show the outbox backlog: pending, retrying and dead tasks per handler",
            lambda p: _json_flag(p), _cmd_events_status),
    Command(("events", "retry-dead"), "queue dead outbox tasks again (after fixing their cause)",
            _retry_dead_configure, _cmd_events_retry_dead),
    Command(("plugins", "new"), "write a new plugin distribution to start from (shop plugins new NAME [--dir DIR])",
            scaffold.configure, scaffold.run, needs_runtime=False),
]


def _plugin_commands(settings: Settings) -> list[Command]:
    try:
        pm, loaded = discover(settings)
    except (PluginError, ConfigError):
        return []
    cmds: list[Command] = []
    dummy = settings.with_(database_url=settings.database_url or "postgresql://unused/none")
    rt = build_runtime(dummy)
    for lp, contributed in call_each(pm, loaded, "shop_cli", lambda lp: _plugin_ctx(rt, lp)):
        for c in contributed:
            if not isinstance(c, Command):
                raise PluginError(f"plugin {lp.info.name!r}: shop_cli must return kernel.host.plugin.Command objects")
            cmds.append(c)
    return cmds


def _disabled_owner(settings: Settings, word: str) -> str | None:
    """The disabled plugin that would add command ``word``, if any.

    Only asked when ``word`` is not a command: then (and only then) the disabled
    plugins are imported to list their commands, so the operator hears
    "disabled" rather than "no such command".
    """
    from importlib.metadata import entry_points

    enabled = settings.with_(plugins_enabled=None, plugins_disabled=())
    idle = build_runtime(enabled.with_(database_url=settings.database_url or "postgresql://unused/none"))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in settings.plugins_disabled and (
                settings.plugins_enabled is None or ep.name in settings.plugins_enabled):
            continue
        try:
            module = ep.load()
            hook = getattr(module, "shop_cli", None)
            if hook is None:
                continue
            ctx = PluginContext(name=ep.name, settings=enabled, config=None, runtime=idle,
                                log=logging.getLogger(f"shop.plugins.{ep.name}"))
            commands = hook(ctx=ctx) if "ctx" in inspect.signature(hook).parameters else hook()
        except Exception:
            continue
        if any(isinstance(c, Command) and c.path[0] == word for c in commands):
            return ep.name
    return None


def build_parser(commands: list[Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shop",
        description="shopkernel: an async e-commerce microkernel. Without DATABASE_URL/REDIS_URL, "
                    "commands start an embedded PostgreSQL and Valkey under SHOP_DATA_DIR (./.shop-data).",
        epilog="Configuration: SHOP_CONFIG (TOML file) and environment variables; see docs/operations.md.",
    )
    parser.add_argument("--version", action="version", version=f"shop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_p = sub.add_parser("serve", help="serve the shop (storefront, REST, GraphQL, OAuth)",
                             description="Serve the shop on one port. Stops gracefully on SIGTERM/Ctrl-C.")
    _serve_configure(serve_p)
    serve_p.set_defaults(command_obj=None)
    groups: dict[str, Any] = {}
    for cmd in commands:
        if len(cmd.path) == 1:
            p = sub.add_parser(cmd.path[0], help=cmd.help, description=cmd.description or cmd.help)
        else:
            group = groups.get(cmd.path[0])
            if group is None:
                gp = sub.add_parser(cmd.path[0], help=f"{cmd.path[0]} commands")
                group = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
                groups[cmd.path[0]] = group
            p = group.add_parser(cmd.path[1], help=cmd.help, description=cmd.description or cmd.help)
        cmd.configure(p)
        p.set_defaults(command_obj=cmd)
    return parser


async def _run_command(cmd: Command, args: argparse.Namespace, settings: Settings) -> int:
    if not cmd.needs_runtime:
        return (await cmd.run(args, None)) or 0
    async with running(settings) as rt:
        return (await cmd.run(args, rt)) or 0


def main(argv: list[str] | None = None) -> int:
    from ..core.observability import setup_logging

    try:
        settings = load_settings()
        setup_logging(settings.log_level if os.environ.get("SHOP_LOG_LEVEL") else "WARNING", settings.log_json)
        commands = KERNEL_COMMANDS + _plugin_commands(settings)
        parser = build_parser(commands)
        words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
        if words and words[0] != "serve" and words[0] not in {c.path[0] for c in commands}:
            discover(settings)  # a configuration error hides every plugin command: say that instead
            owner = _disabled_owner(settings, words[0])
            if owner is not None:
                raise CliError(f"`shop {words[0]}` belongs to plugin {owner!r}, which is disabled by configuration "
                               f"(plugins.enabled / plugins.disabled, SHOP_PLUGINS_*); enable it to use this command")
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        args.settings = settings
        if args.command == "serve":
            overrides: dict[str, Any] = {}
            if args.host:
                overrides["host"] = args.host
            if args.port is not None:
                if not 0 < args.port < 65536:
                    raise CliError("--port must be between 1 and 65535")
                overrides["port"] = args.port
            if args.workers is not None:
                if not 1 <= args.workers <= 64:
                    raise CliError("--workers must be between 1 and 64")
                overrides["workers"] = args.workers
            settings = settings.with_(**overrides)
            setup_logging(settings.log_level, settings.log_json)
            with services(settings) as live:
                return serve(live, migrate_first=not args.no_migrate)
        cmd: Command = args.command_obj
        if not cmd.needs_runtime:
            return asyncio.run(_run_command(cmd, args, settings))
        with services(settings) as live:
            return asyncio.run(_run_command(cmd, args, live))
    except (CliError, ConfigError, PluginError, EmbeddedUnavailable) as exc:
        print(f"shop: error: {exc}", file=sys.stderr)
        return 2
    except BusError as exc:
        print(f"shop: error: {exc.public_message}" + (f" ({exc.reason})" if exc.reason else ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    sys.exit(main())
