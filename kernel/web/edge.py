"""Policies at the edge of every request: who the client is, which browser origins
may call the API, who may read /metrics.

Pure functions over settings and headers, compiled once per app; the outer
middleware in kernel.host.app applies them (see docs/operations.md).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Paths a browser on an allowed origin may call cross-origin.
CORS_PREFIXES = ("/api/", "/graphql", "/oauth/token")
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = ("authorization", "content-type", "idempotency-key", "x-request-id", "if-none-match")
CORS_EXPOSE = "ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id"
CORS_MAX_AGE = "600"
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def networks(items: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(i, strict=False) for i in items)


def _address(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _within(addr: IPAddress, nets: tuple[IPNetwork, ...]) -> bool:
    return any(addr.version == n.version and addr in n for n in nets)


@dataclass(frozen=True)
class ClientAddress:
    """``X-Forwarded-For`` is believed only from a trusted peer (a proxy we run)."""

    trusted: tuple[IPNetwork, ...]

    def resolve(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The client's address: the peer's, or (from a trusted peer) the rightmost
        X-Forwarded-For entry that is not itself a trusted proxy.

        Entries left of the first untrusted one were written by the client and may
        be forged, so they are never used. A malformed entry stops the walk: the
        last trusted hop is the best we know.
        """
        if not self.trusted or peer is None:
            return peer
        peer_addr = _address(peer)
        if peer_addr is None or not _within(peer_addr, self.trusted):
            return peer
        hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
        best = str(peer_addr)
        for hop in reversed(hops):
            addr = _address(hop)
            if addr is None:
                return best
            if not _within(addr, self.trusted):
                return str(addr)
            best = str(addr)
        return best


def is_loopback(address: str | None) -> bool:
    addr = _address(address or "")
    return addr is not None and addr.is_loopback


@dataclass(frozen=True)
class MetricsGuard:
    """/metrics answers loopback, the ``[metrics] allow`` networks, or the bearer token."""

    allow: tuple[IPNetwork, ...]
    token: str | None

    def decide(self, client: str | None, proxied: bool, authorization: str) -> int:
        """200 (serve), 403 (a wrong token) or 404 (pretend there is nothing here)."""
        if authorization:
            scheme, _, given = authorization.partition(" ")
            if self.token and scheme.lower() == "bearer" and hmac.compare_digest(
                    given.strip().encode(), self.token.encode()):
                return 200
            return 403
        addr = _address(client or "")
        if addr is None:
            return 404
        # A loopback peer that forwards someone else's request (an untrusted local
        # proxy) is not a local operator.
        if addr.is_loopback and not proxied:
            return 200
        if _within(addr, self.allow):
            return 200
        return 404


@dataclass(frozen=True)
class Cors:
    """Exact-origin allowlist for browser calls to the API (no credentials: bearer tokens only)."""

    origins: frozenset[str]

    def applies(self, path: str) -> bool:
        return bool(self.origins) and (path.startswith(CORS_PREFIXES) or path == "/api")

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins

    def preflight_headers(self, origin: str, requested_headers: str) -> dict[str, str] | None:
        """Headers for a preflight from an allowed origin; None when it asks for a header we refuse."""
        asked = [h.strip().lower() for h in requested_headers.split(",") if h.strip()]
        if any(h not in CORS_HEADERS for h in asked):
            return None
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": ", ".join(CORS_HEADERS),
            "Access-Control-Max-Age": CORS_MAX_AGE,
            "Vary": "Origin",
        }
