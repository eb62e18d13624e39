"""Where a webhook may be sent: https to public addresses, checked at every connection.

The URL is checked when an endpoint is created; at delivery the connector resolves
the host through :class:`GuardedResolver`, which refuses the whole name if any of
its addresses is not public, and connects only to the addresses it checked (no
second lookup an attacker's DNS could answer differently). Redirects are never
followed; timeouts and a response size cap bound what a target can cost us.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class TargetRefused(OSError):
    """This target is not allowed (scheme, private address, bad URL)."""


# IPv6 ranges that carry an IPv4 address in their last 32 bits, which a host, a NAT64 gateway or
# a 6to4 relay may turn into a connection to that IPv4 address: ``is_global`` says nothing about
# it (``64:ff9b::127.0.0.1`` and ``::127.0.0.1`` count as global), so the IPv4 inside is judged.
_EMBEDS_V4 = tuple(ipaddress.IPv6Network(n) for n in (
    "::/96",  # IPv4-compatible (deprecated; ::1 and :: are judged as themselves)
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "64:ff9b::/96",  # NAT64 well-known prefix
))
# Never public whatever the Python version says: NAT64 local use (RFC 8215), site-local (RFC 3879).
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b:1::/48", "fec0::/10"))


def _as_judged(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address a connection would really reach: the IPv4 inside an IPv4-embedding IPv6 address."""
    if not isinstance(addr, ipaddress.IPv6Address):
        return addr
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:  # 2002:V4ADDR::/48
        return addr.sixtofour
    if int(addr) > 1 and any(addr in net for net in _EMBEDS_V4):
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return addr


def address_allowed(raw: str, allow_private: bool) -> bool:
    try:
        addr = _as_judged(ipaddress.ip_address(raw.split("%", 1)[0]))
    except ValueError:
        return False
    if addr.is_unspecified or addr.is_multicast:
        return False
    if allow_private:
        return True
    if isinstance(addr, ipaddress.IPv6Address) and any(addr in net for net in _NOT_PUBLIC_V6):
        return False
    return addr.is_global


def check_url(url: str, allow_private: bool) -> tuple[str, int]:
    """(host, port) of an acceptable target URL, else TargetRefused with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise TargetRefused("must be an https URL")
    if not parts.hostname:
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials")
    if parts.fragment:
        raise TargetRefused("must not have a fragment")
    host = parts.hostname
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        literal = True
    except ValueError:
        literal = False
    if literal and not address_allowed(host, allow_private):
        raise TargetRefused("must be a public address")
    if not literal and not allow_private and (host == "localhost" or host.endswith((".localhost", ".local",
                                                                                     ".internal"))):
        raise TargetRefused("must be a public host")
    return host, port or (443 if parts.scheme == "https" else 80)


async def check_resolves_public(host: str, port: int, allow_private: bool) -> None:
    """Resolve ``host`` now and refuse it when any address is not public."""
    resolver = GuardedResolver(allow_private)
    try:
        await resolver.resolve(host, port)
    finally:
        await resolver.close()


class GuardedResolver(AbstractResolver):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        try:
            results = await self._inner.resolve(host, port, family=socket.AF_UNSPEC)
        except (OSError, UnicodeError, ValueError) as exc:  # no such name, or not a valid one (IDNA)
            raise TargetRefused(f"{host[:100]} does not resolve: {exc}") from None
        bad = [r["host"] for r in results if not address_allowed(r["host"], self.allow_private)]
        if bad or not results:
            raise TargetRefused(f"{host} resolves to a non-public address ({', '.join(bad) or 'none'})")
        return results

    async def close(self) -> None:
        await self._inner.close()
