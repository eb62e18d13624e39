"""OAuth scopes declared by the plugins that enforce them.

A plugin lists its scopes in its manifest (``PluginInfo(scopes=...)``), usually a
``SCOPES`` tuple in its ``contract.py``. The kernel collects them at startup into
one :class:`ScopeRegistry` (``runtime.scopes``), refuses a bus method whose
``scope=`` nobody declares, and the auth plugin validates clients and requests
against that union and shows the descriptions on its consent screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SCOPE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}(:[a-z][a-z0-9_-]{0,39})?$")
ADMIN = "admin"


class ScopeError(Exception):
    """A scope declaration is invalid, or a method needs an undeclared scope."""


@dataclass(frozen=True)
class Scope:
    """One scope: ``name`` as in tokens, ``description`` in words for the consent screen.

    ``implied_by`` names broader scopes that grant this one too (``orders:manage`` is
    implied by ``admin``); a scope implied by ``admin`` is given only to admins.
    """

    name: str
    description: str
    implied_by: tuple[str, ...] = ()


# The kernel's own: its admin-only service uses it, and every admin route of any plugin.
KERNEL_SCOPES = (Scope(ADMIN, "Administer the shop: everything any admin can do, on every account"),)


class ScopeRegistry:
    def __init__(self) -> None:
        self._scopes: dict[str, Scope] = {}
        self._owners: dict[str, str] = {}

    def add(self, owner: str, scope: Any) -> None:
        if not isinstance(scope, Scope):
            raise ScopeError(f"plugin {owner!r}: scopes must be kernel.core.scopes.Scope objects, not {scope!r}")
        if not SCOPE_NAME_RE.match(scope.name):
            raise ScopeError(f"plugin {owner!r}: scope name {scope.name!r} must match {SCOPE_NAME_RE.pattern}")
        if not scope.description.strip() or len(scope.description) > 200:
            raise ScopeError(f"plugin {owner!r}: scope {scope.name!r} needs a description of 1 to 200 characters")
        if scope.name in self._scopes:
            raise ScopeError(f"plugin {owner!r} declares scope {scope.name!r}, already declared by "
                             f"{self._owners[scope.name]!r}")
        self._scopes[scope.name] = scope
        self._owners[scope.name] = owner

    def check(self, methods: Iterable[Any]) -> None:
        """Every ``implied_by`` and every method's ``scope=`` must name a declared scope."""
        for s in self._scopes.values():
            for broader in s.implied_by:
                if broader not in self._scopes:
                    raise ScopeError(f"scope {s.name!r} ({self._owners[s.name]}) is implied by undeclared {broader!r}")
        for m in methods:
            wanted = m.options.scope
            if wanted and wanted not in self._scopes:
                raise ScopeError(f"{m.full_name} needs scope {wanted!r}, which no enabled plugin declares "
                                 f"(declared: {' '.join(self.names())}); add it to the plugin's PluginInfo(scopes=...)")

    def names(self) -> tuple[str, ...]:
        return tuple(self._scopes)

    def __contains__(self, name: object) -> bool:
        return name in self._scopes

    def get(self, name: str) -> Scope | None:
        return self._scopes.get(name)

    def owner(self, name: str) -> str | None:
        return self._owners.get(name)

    def privileged(self, name: str) -> bool:
        """``admin`` and whatever it implies: only ever granted to admins."""
        return name == ADMIN or ADMIN in self.expand([name], upward=True)

    def expand(self, granted: Iterable[str], *, upward: bool = False) -> frozenset[str]:
        """``granted`` plus every scope it implies (or, ``upward``, every scope implying it)."""
        out = set(granted)
        changed = True
        while changed:
            changed = False
            for s in self._scopes.values():
                if upward:
                    new = {b for b in s.implied_by if s.name in out and b not in out}
                    if new:
                        out |= new
                        changed = True
                elif s.name not in out and out.intersection(s.implied_by):
                    out.add(s.name)
                    changed = True
        return frozenset(out)
