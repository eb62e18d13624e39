"""How a request for scopes is narrowed to a grant, against the scopes the plugins declare.

The names come from ``runtime.scopes`` (kernel.core.scopes.ScopeRegistry): each plugin
declares the scopes its methods need, with a description shown on the consent screen.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.core.scopes import ADMIN, ScopeRegistry

__all__ = ["ADMIN", "for_user", "join", "parse", "user_default"]


def parse(raw: str | None, registry: ScopeRegistry, tolerate: Iterable[str] = ()) -> list[str] | None:
    """Space-separated scope string -> ordered unique list; None when a scope is unknown.

    Names in ``tolerate`` (what the client was registered with) that no enabled plugin declares
    any more (their plugin is switched off) are dropped rather than refused (RFC 6749 §3.3).
    """
    out: list[str] = []
    tolerated = set(tolerate)
    for s in (raw or "").split():
        if s not in registry:
            if s in tolerated:
                continue
            return None
        if s not in out:
            out.append(s)
    return out


def user_default(registry: ScopeRegistry) -> list[str]:
    """What a user's client may have by default: every declared scope but the privileged ones."""
    return [s for s in registry.names() if not registry.privileged(s)]


def for_user(requested: Iterable[str], roles: Iterable[str], registry: ScopeRegistry) -> list[str]:
    """Drop ``admin`` (and what it implies) unless the user is an admin (RFC 6749 §3.3 lets us grant less)."""
    is_admin = ADMIN in set(roles)
    return [s for s in requested if is_admin or not registry.privileged(s)]


def join(scopes: Iterable[str]) -> str:
    return " ".join(scopes)
