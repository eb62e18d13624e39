"""The whole public extension API: every hook a plugin may implement.

Hooks are synchronous and return data; they are called once, at startup, one
plugin at a time in dependency order (never per request). Async work goes through
the bus or the ``shop_lifespan`` context. Each hook is documented in
docs/plugins.md with this exact signature (a test keeps the two in step).

Contract version: HOOKS_VERSION. Hooks are only ever added, never changed.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from aiohttp import web
    from piccolo.table import Table

    from ..core.context import Principal
    from ..core.events import Subscription
    from ..core.service import Service
    from ..engine.runtime import Runtime
    from ..web.graphql import GraphQLPart
    from ..web.probes import ReadinessCheck
    from ..web.rest import Route
    from .plugin import Command, PluginContext, PluginInfo
    from .storefront import StorefrontPart

HOOKS_VERSION = 1
PROJECT = "shop"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


def contribution(package: str, target: str) -> Callable[[], Any]:
    """A hook implementation that returns what a module of the plugin holds, imported on first call.

    For the hooks whose whole body would be "import it, return it"::

        shop_tables = contribution(__name__, ".tables:TABLES")     # a list: returned as a copy
        shop_graphql = contribution(__name__, ".graphql:part()")   # "()": called without arguments
        shop_seed_demo = contribution(__name__, ".seed:seed_demo")  # anything else: returned as is

    ``package`` is the plugin's ``__name__``; the module is imported when the hook runs
    (startup), not when the plugin is imported, as a hand-written hook would.
    """
    module, sep, attr = target.partition(":")
    call = attr.endswith("()")
    attr = attr.removesuffix("()")
    if not sep or not module or not attr.isidentifier():
        raise ValueError(f"contribution target {target!r} must look like '.module:NAME' or '.module:function()'")

    def hook() -> Any:
        value = getattr(importlib.import_module(module, package), attr)
        if call:
            return value()
        return list(value) if isinstance(value, (list, tuple)) else value

    hook.__qualname__ = hook.__name__ = f"contribution({target})"
    return hookimpl(hook)


def periodic(name: str, every: float, work: Callable[[], Awaitable[object]],
             log: logging.Logger) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``shop_lifespan`` context that runs ``work()`` every ``every`` seconds while the app runs.

    A failure is logged as ``<name>_failed`` (with its traceback) and the next round runs
    as planned: the database may be away for a while. The task ``name`` is cancelled on
    shutdown. For background duties such as expiring unpaid intents::

        return periodic("payments_expiry", config.expiry_every_ms / 1000, expire_due, log)
    """

    async def rounds() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(f"{name}_failed")

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(rounds(), name=name)
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return lifespan


@hookspec
def shop_plugin() -> PluginInfo:
    """The plugin's manifest: name, version, requires, config model, description."""


@hookspec
def shop_tables(ctx: PluginContext) -> list[type[Table]]:
    """Piccolo ``Table`` classes the plugin owns (migrations in migrations/<name>/)."""


@hookspec
def shop_services(ctx: PluginContext) -> list[tuple[type[Service], object]]:
    """(Service declaration, servicer) pairs to register on the bus.

    The REST routes a service's contract declares (``rpc(..., rest=Http("GET /api/x"))``) are
    served with it; ``shop_routes`` is only for routes a contract does not declare."""


@hookspec
def shop_routes(ctx: PluginContext) -> list[Route]:
    """REST routes: ``kernel.web.rest.Route`` adapters over bus methods that their contract does
    not declare with ``rpc(..., rest=Http(...))`` (another plugin's method, an extra path)."""


@hookspec
def shop_web_routes(ctx: PluginContext) -> list[web.RouteDef]:
    """Plain aiohttp ``RouteDef``s for pages that are not JSON APIs (sign-in forms...)."""


@hookspec
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    """A ``kernel.web.graphql.GraphQLPart``: SDL fragment and resolvers."""


@hookspec
def shop_event_handlers(ctx: PluginContext) -> list[Subscription]:
    """``kernel.core.events.Subscription``s to other plugins' (or own) events."""


@hookspec
def shop_authenticators(ctx: PluginContext) -> list[Callable[[web.Request], Awaitable[Principal | None]]]:
    """Async callables ``(request) -> Principal | None`` resolving the caller."""


@hookspec
def shop_middlewares(ctx: PluginContext) -> list[Any]:
    """aiohttp middlewares, installed after the kernel's own, in plugin order."""


@hookspec
def shop_lifespan(ctx: PluginContext) -> Callable[[web.Application], AsyncIterator[None]]:
    """An async generator function ``(app) -> AsyncIterator[None]`` (aiohttp cleanup context)."""


@hookspec
def shop_cli(ctx: PluginContext) -> list[Command]:
    """``kernel.host.plugin.Command``s added to the ``shop`` CLI."""


@hookspec
def shop_seed_demo(ctx: PluginContext) -> Callable[[Runtime, dict[str, Any]], Awaitable[str]]:
    """An async callable ``(runtime, options) -> str`` that creates demo data, returning a summary."""


@hookspec
def shop_readiness_checks(ctx: PluginContext) -> list[ReadinessCheck]:
    """``kernel.web.probes.ReadinessCheck``s: named async probes that ``/readyz`` runs (None: ready)."""


@hookspec
def shop_storefront(ctx: PluginContext) -> StorefrontPart:
    """ES modules of the plugin's package data mounted into the storefront's named slots."""


@hookspec
def shop_payment_providers(ctx: PluginContext) -> list[Any]:
    """Payment providers the plugin adds (objects following ``plugins.payments.contract.PaymentProvider``)."""
