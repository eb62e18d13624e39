"""Guest shoppers: a cart kept by a signed cookie, checkout by card with an email, merge on sign-in.

``POST /api/guest-session`` gives an anonymous storefront visitor the ``shop_guest``
cookie (``<guest id>.<HMAC>``, HttpOnly, SameSite=Lax so no other site's request
carries it). Requests with it and no other credentials act as the principal
``guest:<id>`` with only the cart, checkout and payment-confirmation scopes: the
cart and checkout code is the signed-in one, keyed by that id. The first request
made signed in (by any authenticator before this one, e.g. the auth session) that
still carries the cookie merges the guest cart into the account's and clears it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from kernel.core.context import Principal, reads_credentials
from kernel.web.rest import CTX_KEY

from .cart import MAX_LINES
from .contract import MAX_QTY
from .guest import GuestLinks, _b64

log = logging.getLogger("shop.plugins.orders")

COOKIE = "shop_guest"
MAX_AGE = 30 * 86400
GUEST_SCOPES = frozenset({"catalog:read", "cart:write", "orders:write", "payments:write"})
PREFIX = "guest:"


def is_guest(user_id: str | None) -> bool:
    return bool(user_id) and str(user_id).startswith(PREFIX)


class GuestSessions:
    def __init__(self, plugin_ctx: Any) -> None:
        self.pctx = plugin_ctx
        self.links = GuestLinks(plugin_ctx)

    async def _mac(self, gid: str) -> str:
        return _b64(hmac.new(await self.links.key(), f"guest-cookie:{gid}".encode(), hashlib.sha256).digest())

    async def guest_id(self, raw: str | None) -> str | None:
        if not raw or len(raw) > 100:
            return None
        gid, _, mac = raw.partition(".")
        try:
            if str(uuid.UUID(gid)) != gid:
                return None
        except ValueError:
            return None
        return gid if hmac.compare_digest(mac, await self._mac(gid)) else None

    # ---------------------------------------------------------------- hooks

    @reads_credentials("Cookie")
    async def authenticate(self, request: web.Request) -> Principal | None:
        if "Authorization" in request.headers or not (request.path.startswith("/api/") or request.path == "/graphql"):
            return None
        gid = await self.guest_id(request.cookies.get(COOKIE))
        if gid is None:
            return None
        return Principal(kind="guest", subject=PREFIX + gid, user_id=PREFIX + gid, scopes=GUEST_SCOPES, via="guest")

    async def start(self, request: web.Request) -> web.Response:
        ctx = request.get(CTX_KEY)
        principal = ctx.principal if ctx is not None else None
        if principal is not None and principal.kind not in ("anonymous", "guest"):
            return web.json_response({"guest": False})  # signed in: the account's cart is used
        resp = web.json_response({"guest": True})
        if principal is None or principal.kind != "guest":
            gid = str(uuid.uuid4())
            resp.set_cookie(COOKIE, f"{gid}.{await self._mac(gid)}", max_age=MAX_AGE, httponly=True,
                            samesite="Lax", path="/",
                            # Behind a TLS proxy the request itself is http: the public URL says https.
                            secure=request.secure or self.pctx.settings.secure_cookies)
        return resp

    def middleware(self) -> Any:
        @web.middleware
        async def merge_guest_cart(request: web.Request, handler: Handler) -> web.StreamResponse:
            resp = await handler(request)
            raw = request.cookies.get(COOKIE)
            ctx = request.get(CTX_KEY)
            if raw and ctx is not None and ctx.principal.kind == "user" and ctx.principal.user_id:
                gid = await self.guest_id(raw)
                if gid is not None:
                    await self.merge(PREFIX + gid, ctx.principal.user_id)
                if not resp.prepared:
                    resp.del_cookie(COOKIE, path="/")
            return resp

        return merge_guest_cart

    async def merge(self, guest_user: str, user_id: str) -> int:
        """Move the guest's lines into the user's cart (quantities add up, capped); the guest cart goes."""
        db = self.pctx.db
        async with db.transaction():
            guest_cart = await db.fetchval("SELECT id FROM orders_cart WHERE user_id = $1 FOR UPDATE", guest_user)
            if guest_cart is None:
                return 0
            cart_id = await db.fetchval(
                "INSERT INTO orders_cart (user_id) VALUES ($1) "
                "ON CONFLICT (user_id) DO UPDATE SET updated_at = now() RETURNING id", user_id)
            have = {r["variant_id"] for r in await db.fetch(
                "SELECT variant_id FROM orders_cart_item WHERE cart_id = $1", cart_id)}
            moved = 0
            for r in await db.fetch("SELECT product_id, variant_id, qty FROM orders_cart_item WHERE cart_id = $1 "
                                    "ORDER BY added_at, variant_id", guest_cart):
                if r["variant_id"] not in have and len(have) >= MAX_LINES:
                    continue  # the account's cart is full: the rest stays out
                await db.execute(
                    "INSERT INTO orders_cart_item (cart_id, product_id, variant_id, qty) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (cart_id, variant_id) DO UPDATE SET qty = least(orders_cart_item.qty + EXCLUDED.qty, "
                    "$5)", cart_id, r["product_id"], r["variant_id"], r["qty"], MAX_QTY)
                have.add(r["variant_id"])
                moved += 1
            await db.execute("DELETE FROM orders_cart WHERE id = $1", guest_cart)
        log.info("guest_cart_merged", extra={"lines": moved})
        return moved
