#!/usr/bin/env python3
"""Rewrite old ``kernel`` module paths to the subpackage layout (issue #16 item 5).

    python scripts/kernel_paths.py FILE...     rewrite these files in place
    python scripts/kernel_paths.py --all       every tracked text file (git ls-files)
    python scripts/kernel_paths.py --check ... report what would change, write nothing (exit 1 if any)

What it rewrites (idempotently: a rewritten file is left as it is):

* dotted paths: ``kernel.db`` -> ``kernel.storage.db`` (imports, strings, config files, docs);
  a dotted path preceded by a dot (the ``shop.kernel.db`` logger names) is left alone;
* ``from kernel import iso4217`` -> ``from kernel.core import iso4217`` (split per subpackage);
* names that moved to another module: ``from kernel.plugin import discover`` ->
  ``from kernel.host.loader import discover`` (see NAME_MOVES);
* file paths: ``kernel/rest.py`` -> ``kernel/web/rest.py``, ``kernel/static`` -> ``kernel/web/static``;
* inside kernel/<sub>/ only: relative imports of a module now in another subpackage,
  ``from .db import Database`` -> ``from ..storage.db import Database``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

LAYOUT: dict[str, tuple[str, ...]] = {
    "core": ("messages", "service", "status", "context", "scopes", "events", "iso4217", "observability",
             "resources", "tasks"),
    "storage": ("db", "migrate", "columns", "cache", "redis_link", "outbox", "embedded"),
    "engine": ("bus", "ratelimit", "config", "runtime"),
    "web": ("rest", "edge", "gqlscan", "gqltypes", "graphql", "openapi", "probes", "system", "shortpath"),
    "host": ("hookspecs", "plugin", "storefront", "app", "loader"),
    "commands": ("cli", "serve", "scaffold"),
}
SUBPACKAGE = {module: sub for sub, modules in LAYOUT.items() for module in modules}
OLD_MODULES = tuple(m for m in SUBPACKAGE if m != "loader")  # loader is new: never an old path

# (old module, name) -> new module: names that left their module in the split.
NAME_MOVES: dict[tuple[str, str], str] = {
    ("plugin", "discover"): "loader",
    ("plugin", "call_each"): "loader",
    ("plugin", "ENTRY_POINT_GROUP"): "loader",
    ("cli", "migration_apps"): "loader",
    ("cli", "Command"): "plugin",
    ("cli", "CliError"): "plugin",
}

_ALT = "|".join(sorted(OLD_MODULES, key=len, reverse=True))
DOTTED = re.compile(rf"(?<![\w.])kernel\.({_ALT})\b")
FILE_PATH = re.compile(rf"(?<![\w.])kernel/({_ALT})\.py\b")
STATIC = re.compile(r"(?<![\w.])kernel/static\b")
# `from kernel import a, b as c` (one line, or parenthesised over several)
FROM_KERNEL = re.compile(r"^(?P<indent>[ \t]*)from kernel import (?P<names>\([^)]*\)|[^\n#]+)", re.M)
FROM_MODULE = re.compile(
    r"^(?P<indent>[ \t]*)from kernel\.(?P<sub>\w+)\.(?P<mod>\w+) import (?P<names>\([^)]*\)|[^\n#]+)", re.M)
RELATIVE = re.compile(rf"^(?P<indent>[ \t]*)from \.(?P<mod>{_ALT}|loader) import ", re.M)
RELATIVE_PKG = re.compile(r"^(?P<indent>[ \t]*)from \. import (?P<names>\([^)]*\)|[^\n#]+)", re.M)


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in text.strip().strip("()").replace("\n", " ").split(",") if n.strip()]


def _imports(indent: str, groups: dict[str, list[str]]) -> str:
    return "\n".join(f"{indent}from {where} import {', '.join(names)}" for where, names in groups.items())


def _from_kernel(m: re.Match[str]) -> str:
    groups: dict[str, list[str]] = {}
    for name in _split_names(m["names"]):
        base = name.split(" as ")[0].strip()
        where = f"kernel.{SUBPACKAGE[base]}" if base in OLD_MODULES else "kernel"
        groups.setdefault(where, []).append(name)
    return _imports(m["indent"], groups)


def _from_module(m: re.Match[str]) -> str:
    """Move names listed in NAME_MOVES to their new module."""
    old = m["mod"]
    if not any(key[0] == old for key in NAME_MOVES) or SUBPACKAGE.get(old) != m["sub"]:
        return m.group(0)
    groups: dict[str, list[str]] = {}
    for name in _split_names(m["names"]):
        new = NAME_MOVES.get((old, name.split(" as ")[0].strip()), old)
        groups.setdefault(f"kernel.{SUBPACKAGE[new]}.{new}", []).append(name)
    if list(groups) == [f"kernel.{m['sub']}.{old}"]:
        return m.group(0)
    return _imports(m["indent"], groups)


def rewrite(text: str, path: str = "") -> str:
    text = FROM_KERNEL.sub(_from_kernel, text)
    text = DOTTED.sub(lambda m: f"kernel.{SUBPACKAGE[m[1]]}.{m[1]}", text)
    text = FROM_MODULE.sub(_from_module, text)
    text = FILE_PATH.sub(lambda m: f"kernel/{SUBPACKAGE[m[1]]}/{m[1]}.py", text)
    text = STATIC.sub("kernel/web/static", text)
    parts = Path(path).parts
    if len(parts) >= 3 and parts[-3] == "kernel" and parts[-2] in LAYOUT and path.endswith(".py"):
        text = _relative(text, parts[-2])
    return text


def _relative(text: str, here: str) -> str:
    """Relative imports inside kernel/<here>/ that point at a module of another subpackage."""

    def module(m: re.Match[str]) -> str:
        sub = SUBPACKAGE[m["mod"]]
        return m.group(0) if sub == here else f"{m['indent']}from ..{sub}.{m['mod']} import "

    def package(m: re.Match[str]) -> str:
        groups: dict[str, list[str]] = {}
        for name in _split_names(m["names"]):
            base = name.split(" as ")[0].strip()
            sub = SUBPACKAGE.get(base)
            where = "." if sub == here else f"..{sub}" if sub else ".."
            groups.setdefault(where, []).append(name)
        return _imports(m["indent"], groups)

    return RELATIVE_PKG.sub(package, RELATIVE.sub(module, text))


# This script and its test hold old paths on purpose.
SELF = {"scripts/kernel_paths.py", "tests/test_kernel_paths.py"}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if p not in SELF]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    files = tracked_files() if args == ["--all"] else args
    if not files:
        print(__doc__)
        return 2
    changed = []
    for name in files:
        path = Path(name)
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary or unreadable: not ours to rewrite
        new = rewrite(text, name)
        if new != text:
            changed.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    for name in changed:
        print(("would rewrite " if check else "rewrote ") + name)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
