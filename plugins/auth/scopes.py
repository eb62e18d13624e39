"""The scopes the shop knows, and how a request for them is narrowed to a grant."""

from __future__ import annotations

SUPPORTED = ("openid", "profile", "email", "catalog:read", "cart:write", "orders:read", "orders:write",
             "wallet:read", "wallet:write", "admin")
USER_DEFAULT = ("openid", "profile", "email", "catalog:read", "cart:write", "orders:read", "orders:write",
                "wallet:read", "wallet:write")
ADMIN = "admin"


def parse(raw: str | None) -> list[str] | None:
    """Space-separated scope string -> ordered unique list; None when a scope is unknown."""
    out: list[str] = []
    for s in (raw or "").split():
        if s not in SUPPORTED:
            return None
        if s not in out:
            out.append(s)
    return out


def for_user(requested: list[str], roles: list[str] | tuple[str, ...]) -> list[str]:
    """Drop ``admin`` unless the user holds the admin role (RFC 6749 §3.3 lets us grant less)."""
    return [s for s in requested if s != ADMIN or ADMIN in roles]


def join(scopes: list[str] | tuple[str, ...]) -> str:
    return " ".join(scopes)
