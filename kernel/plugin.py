"""Plugin discovery, manifests, enable/disable, dependency order, contributions.

Startup sequence (see docs/architecture.md):
1. list ``shop.plugins`` entry points by name, without importing;
2. block the disabled ones, import each enabled one inside its own guard;
3. validate each manifest and its config section;
4. check ``requires``, order topologically, reject cycles and missing plugins;
5. call contribution hooks one plugin at a time, in that order.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from . import hookspecs
from .config import ConfigError, EnvText, Settings
from .messages import DecodeError, decode
from .scopes import Scope

log = logging.getLogger("shop.kernel.plugins")

ENTRY_POINT_GROUP = "shop.plugins"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


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
    scopes: tuple[Scope, ...] = ()  # OAuth scopes the plugin's methods need (kernel.scopes.Scope)


@dataclass
class LoadedPlugin:
    info: PluginInfo
    module: object
    config: Any = None
    contributions: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PluginContext:
    """What a plugin's hooks receive: its own config and the runtime handles."""

    name: str
    settings: Settings
    config: Any
    runtime: Any  # kernel.runtime.Runtime (db, redis, cache, bus, events)
    log: logging.Logger

    bus = property(lambda self: self.runtime.bus)
    db = property(lambda self: self.runtime.db)


class PluginBound:
    """Base of a plugin's service objects, built before startup: ``db`` and ``bus`` are read
    through the plugin's context at call time, once the runtime has opened them."""

    def __init__(self, plugin_ctx: Any) -> None:
        self.pctx = plugin_ctx

    db = property(lambda self: self.pctx.db)
    bus = property(lambda self: self.pctx.bus)


PluginSource = object  # a module or object with hookimpls


def discover(
    settings: Settings, explicit: Iterable[PluginSource] | None = None
) -> tuple[pluggy.PluginManager, list[LoadedPlugin]]:
    """Load, validate and order the enabled plugins."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    candidates: list[tuple[str, Callable[[], object]]] = []
    if explicit is None:
        seen: dict[str, str] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in seen:
                raise PluginError(
                    f"two distributions register plugin {ep.name!r} ({seen[ep.name]} and {ep.value}); uninstall one"
                )
            seen[ep.name] = ep.value
            candidates.append((ep.name, ep.load))
    else:
        for src in explicit:
            candidates.append((_guess_name(src), _constant(src)))

    names = {n for n, _ in candidates}
    if settings.plugins_enabled is not None:
        unknown = set(settings.plugins_enabled) - names
        if unknown:
            raise PluginError(f"plugins.enabled names unknown plugin(s): {', '.join(sorted(unknown))}; "
                              f"installed: {', '.join(sorted(names)) or 'none'}")
    unknown_disabled = set(settings.plugins_disabled) - names
    if unknown_disabled and explicit is None:
        raise ConfigError(f"plugins.disabled names unknown plugin(s): {', '.join(sorted(unknown_disabled))}; "
                          f"installed: {', '.join(sorted(names)) or 'none'}")
    unknown_sections = set(settings.plugin_config) - names
    if unknown_sections and explicit is None:
        raise ConfigError(f"settings for unknown plugin(s) {', '.join(f'plugins.{n}' for n in sorted(unknown_sections))};"
                          f" installed: {', '.join(sorted(names)) or 'none'}")

    def enabled(name: str) -> bool:
        if name in settings.plugins_disabled:
            return False
        return settings.plugins_enabled is None or name in settings.plugins_enabled

    loaded: dict[str, LoadedPlugin] = {}
    for name, load in candidates:
        if not enabled(name):
            pm.set_blocked(name)  # never imported
            continue
        try:
            module = load()
            info = _manifest(module, name)
        except Exception as exc:
            msg = f"plugin {name!r} failed to load: {type(exc).__name__}: {exc}"
            if settings.plugins_strict:
                raise PluginError(msg + " (set plugins.strict = false to skip broken plugins)") from exc
            log.error("plugin_load_failed", extra={"plugin": name, "error": str(exc)})
            continue
        if info.name != name:
            raise PluginError(f"entry point {name!r} loads a plugin that calls itself {info.name!r}; the names must match")
        config = _validate_config(info, settings)
        pm.register(module, name=name)
        loaded[name] = LoadedPlugin(info=info, module=module, config=config)

    order = _order(loaded, settings)
    pm.check_pending()
    return pm, [loaded[n] for n in order]


def _constant(src: object) -> Callable[[], object]:
    return lambda: src


def _guess_name(src: object) -> str:
    shop_plugin = getattr(src, "shop_plugin", None)
    if shop_plugin is None:
        raise PluginError(f"{src!r} has no shop_plugin() hook")
    info = shop_plugin()
    return str(info.name)


def _manifest(module: object, name: str) -> PluginInfo:
    fn = getattr(module, "shop_plugin", None)
    if fn is None:
        raise PluginError(f"plugin {name!r} has no shop_plugin() hook returning its PluginInfo")
    info = fn()
    if not isinstance(info, PluginInfo):
        raise PluginError(f"plugin {name!r}: shop_plugin() must return kernel.plugin.PluginInfo")
    if not NAME_RE.match(info.name):
        raise PluginError(f"plugin name {info.name!r} must match {NAME_RE.pattern}")
    return info


def _validate_config(info: PluginInfo, settings: Settings) -> Any:
    section = settings.plugin_section(info.name)
    if info.config is None:
        if section:
            raise ConfigError(f"plugins.{info.name} has settings but plugin {info.name!r} takes none")
        return None
    # TOML keys are snake_case; the decoder speaks camelCase.
    from .messages import camel

    try:
        return decode(info.config, {camel(k): _from_env(info.config, k, v) for k, v in section.items()})
    except DecodeError as exc:
        known = config_fields(info)
        snake = {camel(k): k for k in [*known, *section]}
        details = "; ".join(f"plugins.{info.name}.{snake.get(e.field.split('[')[0], e.field)}"
                            f"{e.field[len(e.field.split('[')[0]):]}: {e.message}" for e in exc.errors)
        if any(e.message == "is not a known field" for e in exc.errors):
            details += f" (known: {', '.join(known)})"
        raise ConfigError(f"invalid config for plugin {info.name!r}: {details}") from None


def _from_env(model: type, key: str, value: Any) -> Any:
    """A setting from ``SHOP_PLUGINS__<PLUGIN>__<KEY>`` is text: read it as the field's type.

    Strings stay as they are; anything else is read as a TOML value (``true``,
    ``5``, ``["EUR", "USD"]``, ``{ "EUR/USD" = "1.1" }``); a list may also be
    given comma-separated. What cannot be read is passed on as text, so that the
    model's decoder names the field and the type it wanted.
    """
    if not isinstance(value, EnvText):
        return value
    tp = typing.get_type_hints(model).get(key, Any)
    if tp is str or (typing.get_origin(tp) in (typing.Union, types.UnionType) and str in typing.get_args(tp)
                     and len([a for a in typing.get_args(tp) if a is not type(None)]) == 1):
        return str(value)
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        if typing.get_origin(tp) in (list, tuple):
            return [p.strip() for p in value.split(",") if p.strip()]
        return str(value)


def _order(loaded: dict[str, LoadedPlugin], settings: Settings) -> list[str]:
    for name, lp in loaded.items():
        for req in lp.info.requires:
            if req not in loaded:
                if req in settings.plugins_disabled or (
                    settings.plugins_enabled is not None and req not in settings.plugins_enabled
                ):
                    raise PluginError(
                        f"plugin {name!r} requires {req!r}, which is disabled by configuration; "
                        f"enable {req!r} or disable {name!r} too"
                    )
                raise PluginError(f"plugin {name!r} requires {req!r}, which is not installed")
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            cycle = [*path[path.index(n):], n]
            raise PluginError("plugins require each other in a cycle: " + " -> ".join(cycle))
        state[n] = 1
        for req in sorted(loaded[n].info.requires):
            visit(req, [*path, n])
        state[n] = 2
        order.append(n)

    for n in sorted(loaded):
        visit(n, [])
    return order


def call_each(pm: pluggy.PluginManager, plugins: list[LoadedPlugin], hook: str,
              make_ctx: Callable[[LoadedPlugin], PluginContext]) -> list[tuple[LoadedPlugin, Any]]:
    """Call ``hook`` on each plugin that implements it, in load order.

    A failure names the plugin and the hook.
    """
    impls = {impl.plugin_name: impl for impl in getattr(pm.hook, hook).get_hookimpls()}
    results = []
    for lp in plugins:
        impl = impls.get(lp.info.name)
        if impl is None:
            continue
        try:
            args = {"ctx": make_ctx(lp)} if "ctx" in impl.argnames else {}
            result = impl.function(**args)
        except (PluginError, ConfigError):
            raise
        except Exception as exc:
            raise PluginError(f"plugin {lp.info.name!r}: hook {hook} failed: {type(exc).__name__}: {exc}") from exc
        if result is not None:
            results.append((lp, result))
    return results


def config_fields(info: PluginInfo) -> list[str]:
    if info.config is None:
        return []
    return [f.name for f in dataclasses.fields(typing.cast(Any, info.config))]


def is_module(obj: object) -> bool:
    return isinstance(obj, types.ModuleType)
