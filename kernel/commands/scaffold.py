"""``shop plugins new NAME``: write a working third-party plugin distribution to start from.

The skeleton has one of each contribution (a table and its migration, a bus
service, REST routes, GraphQL fields, an event and its handler, a CLI command)
and a test of its own that passes against a real PostgreSQL and Redis. It
depends on the kernel only, so it runs before any other plugin is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .. import __version__
from ..host.loader import ENTRY_POINT_GROUP
from ..host.plugin import CliError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_TOKEN = re.compile(r"\{\{(\w+)\}\}")
# Paths: PKG is the package (shop_NAME), NAME the plugin name. Text: {{name}}, {{pkg}},
# {{dist}}, {{url}}, {{Camel}}, {{camel}}, {{compatibility}}.
TEMPLATES = Path(__file__).parent / "templates"
SUFFIX = ".tmpl"


class ScaffoldError(Exception):
    """A one-line reason why nothing was written."""


def _names(name: str) -> dict[str, str]:
    parts = name.split("_")
    camel_tail = "".join(p.capitalize() for p in parts[1:])
    major, minor = (int(n) for n in __version__.split(".")[:2])
    return {
        # the generated plugin runs on the kernel minor series that generated it (PluginInfo.compatibility)
        "compatibility": f">={major}.{minor},<{major}.{minor + 1}",
        "name": name,
        "pkg": f"shop_{name}",
        "dist": "shop-" + name.replace("_", "-"),
        "url": name.replace("_", "-"),
        "Camel": "".join(p.capitalize() for p in parts),
        "camel": parts[0] + camel_tail,
    }


def validate(name: str, dest: Path) -> None:
    if not NAME_RE.match(name):
        raise ScaffoldError(f"plugin name {name!r} must match {NAME_RE.pattern} (lowercase, digits, underscores)")
    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name in installed or name == "kernel":
        raise ScaffoldError(f"a plugin called {name!r} already exists; choose another name")
    if importlib.util.find_spec(f"shop_{name}") is not None:
        raise ScaffoldError(f"a Python package shop_{name} is already installed; choose another name")
    if dest.exists():
        raise ScaffoldError(f"{dest} already exists; choose another --dir")


def _render(template: str, names: dict[str, str]) -> str:
    return _TOKEN.sub(lambda m: names[m.group(1)], template)


KINDS = ("plugin", "payment-provider")


def generate(name: str, dest: Path, kind: str = "plugin") -> Path:
    """Write the distribution for plugin ``name`` into ``dest`` (which must not exist); returns ``dest``.

    ``kind``: ``plugin`` (a table, a service, routes, GraphQL, an event, a command) or
    ``payment-provider`` (a provider added through ``shop_payment_providers``).
    """
    dest = Path(dest)
    if kind not in KINDS:
        raise ScaffoldError(f"--kind must be one of {', '.join(KINDS)}")
    validate(name, dest)
    names = _names(name)
    for rel, text in render(kind, names).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return dest


def templates(kind: str) -> dict[str, str]:
    """The ``kind``'s template files, by path relative to the distribution (with PKG and NAME
    placeholders, without ``.tmpl``): package data under kernel/commands/templates/<kind>/."""
    root = TEMPLATES / kind
    return {path.relative_to(root).as_posix().removesuffix(SUFFIX): path.read_text(encoding="utf-8")
            for path in sorted(root.rglob("*" + SUFFIX))}


def render(kind: str, names: dict[str, str]) -> dict[str, str]:
    """Every file of a ``kind`` distribution for ``names`` (see :func:`_names`): path -> text."""
    return {path.replace("PKG", names["pkg"]).replace("NAME", names["name"]): _render(text, names)
            for path, text in templates(kind).items()}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="plugin name: lowercase letters, digits and underscores, e.g. wishlist")
    parser.add_argument("--dir", default=None, help="where to write the distribution (default ./shop-NAME)")
    parser.add_argument("--kind", default="plugin", choices=KINDS,
                        help="plugin: the full example; payment-provider: a card payment provider (docs/payments.md)")


async def run(args: argparse.Namespace, runtime: Any) -> int:
    dest = Path(args.dir) if args.dir else Path.cwd() / ("shop-" + str(args.name).replace("_", "-"))
    try:
        generate(args.name, dest, getattr(args, "kind", "plugin"))
    except ScaffoldError as exc:
        raise CliError(str(exc)) from None  # the CLI prints it and exits 2
    print(f"created plugin {args.name!r} in {dest}")
    print(f"next: pip install -e {dest} && shop migrate && pytest {dest / 'tests'}")
    return 0
