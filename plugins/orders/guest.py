"""Guest order links: ``<order id>.<expiry>.<HMAC-SHA256>``, signed with the shop's secret key.

The link is the guest's only way back to an order (there is no account), so it is
unguessable (a MAC over the id and the expiry), expires (``guest_link_ttl``) and
opens only guest orders. Without ``secret_key`` (development) a random key kept in
``orders_secret`` signs them, so every process of one shop agrees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from kernel.core.status import BusError, Status

from .store import parse_uuid


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def link_invalid() -> BusError:
    # One answer for a forged, altered or unknown link: nothing to learn from it.
    return BusError(Status.NOT_FOUND, "This order link is not valid.", reason="ORDER_LINK_INVALID")


def check_guest_checkout(req: Any) -> None:
    """A guest pays by card (no wallet), gives an email, and has no saved addresses."""
    errors = []
    if req.email is None:
        errors.append(("email", "is required for guests"))
    if req.wallet_currency is not None or getattr(req, "payment_method", None) == "wallet":
        errors.append(("walletCurrency", "guests pay by card"))
    if req.address_id is not None:
        errors.append(("addressId", "guests have no saved addresses: give shippingAddress"))
    if errors:
        raise BusError(Status.INVALID_ARGUMENT, "A guest checkout pays by card and gives an email.",
                       reason="GUEST_CHECKOUT", field_errors=errors)


class GuestLinks:
    def __init__(self, plugin_ctx: Any) -> None:
        self.pctx = plugin_ctx
        self._key: bytes | None = None

    async def key(self) -> bytes:
        if self._key is None:
            secret = self.pctx.settings.secret_key
            if secret:
                self._key = hashlib.sha256(b"shop-orders-guest-link:" + secret.encode()).digest()
            else:
                db = self.pctx.db
                await db.execute("INSERT INTO orders_secret (name, value) VALUES ('guest_link', $1) "
                                 "ON CONFLICT DO NOTHING", secrets.token_bytes(32))
                self._key = bytes(await db.fetchval("SELECT value FROM orders_secret WHERE name = 'guest_link'"))
        return self._key

    async def sign(self, order_id: str, ttl: int, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + ttl)
        payload = f"{order_id}.{expires}"
        return f"{payload}.{_b64(hmac.new(await self.key(), payload.encode(), hashlib.sha256).digest())}"

    async def verify(self, token: str, now: float | None = None) -> str:
        """The order id of a valid, unexpired link."""
        parts = token.split(".")
        if len(parts) != 3 or parse_uuid(parts[0]) != parts[0] or not parts[1].isdigit() or len(parts[1]) > 12:
            raise link_invalid()
        mac = _b64(hmac.new(await self.key(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, parts[2]):
            raise link_invalid()
        if int(parts[1]) < (time.time() if now is None else now):
            raise BusError(Status.PERMISSION_DENIED, "This order link has expired.", reason="ORDER_LINK_EXPIRED")
        return parts[0]
