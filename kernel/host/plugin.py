"""The plugin boundary: what a plugin declares (:class:`PluginInfo`), what its hooks
receive (:class:`PluginContext`) and the CLI commands it may add (:class:`Command`).

Loading (entry points, manifests, order, hook calls) is :mod:`kernel.host.loader`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core.scopes import Scope
from ..engine.bus import Bus
from ..engine.config import Settings
from ..engine.runtime import Runtime
from ..storage.db import Database

S = TypeVar("S")


class CliError(Exception):
    """A one-line error for the operator; exit code 2."""


@dataclass(frozen=True)
class Command:
    """A CLI command. ``path`` like ("users", "create"); ``run(args, runtime)`` is async.

    With ``needs_runtime=False`` the command gets ``runtime=None`` and no services start.
    """

    path: tuple[str, ...]
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], Awaitable[int | None]]
    needs_runtime: bool = True
    description: str = ""


class PluginError(Exception):
    """A plugin could not be loaded; the message names the plugin and the fix."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    description: str = ""
    requires: tuple[str, ...] = ()
    config: type | None = None  # a message dataclass validating the plugin's config section
    migrations: str | None = None  # folder name under migrations/ (default: the plugin name)
    events: tuple[type, ...] = ()  # event types the plugin publishes
    scopes: tuple[Scope, ...] = ()  # OAuth scopes the plugin's methods need (kernel.core.scopes.Scope)
    # The kernel versions the plugin runs on, a PEP 440 specifier such as ">=0.2,<0.3"
    # (None: any). A plugin outside its range is refused at startup (kernel.host.loader).
    compatibility: str | None = None


@dataclass
class LoadedPlugin:
    info: PluginInfo
    module: object
    config: Any = None
    contributions: dict[str, list[str]] = field(default_factory=dict)


class RuntimeHandles:
    """``db`` and ``bus`` read through the runtime at each access: objects built before
    startup see them once the runtime has opened them."""

    def _runtime(self) -> Runtime:
        raise NotImplementedError

    @property
    def bus(self) -> Bus:
        return self._runtime().bus

    @property
    def db(self) -> Database:
        return self._runtime().db


@dataclass
class PluginContext(RuntimeHandles):
    """What a plugin's hooks receive: its own config and the runtime handles."""

    name: str
    settings: Settings
    config: Any
    runtime: Runtime  # db, redis, cache, bus, events, metrics
    log: logging.Logger

    def _runtime(self) -> Runtime:
        return self.runtime

    def state(self, kind: type[S], make: Callable[[], S] | None = None) -> S:
        """This plugin's one instance of ``kind`` for this app, made on first use with
        ``make()`` (default ``kind()``); every hook of this plugin gets the same one.

        Keep what the hooks share there (no runtime attributes, no dicts keyed by id(runtime))::

            ctx.state(PaymentsServicer, lambda: PaymentsServicer(ctx, ...))   # shop_services
            ctx.made(PaymentsServicer)            # shop_lifespan, later: made earlier, or LookupError
            ctx.state(Counters).seen += 1         # a dataclass with defaults, made with Counters()
        """
        return self.runtime.state(self.name, kind, make)

    def made(self, kind: type[S]) -> S:
        """This plugin's instance of ``kind`` that an earlier hook made; LookupError if none did."""
        return self.runtime.made(self.name, kind)


class PluginBound(RuntimeHandles):
    """Base of a plugin's service objects, built before startup: ``db`` and ``bus`` are read
    through the plugin's context at call time, once the runtime has opened them."""

    def __init__(self, plugin_ctx: PluginContext) -> None:
        self.pctx = plugin_ctx

    def _runtime(self) -> Runtime:
        return self.pctx.runtime


def config_fields(info: PluginInfo) -> list[str]:
    if info.config is None:
        return []
    return [f.name for f in dataclasses.fields(typing.cast(Any, info.config))]


def is_module(obj: object) -> bool:
    return isinstance(obj, types.ModuleType)
