"""The test provider: card checks, tokens, the PaymentProvider side, signed webhooks.

The card number lives only in this module's local variables while a token is made;
what is kept is brand, last 4 and which test outcome the number stands for.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from kernel.core.status import BusError, Status, invalid
from plugins.payments.contract import ProviderResult, ProviderStatus, WebhookEvent, WebhookRejected

from .contract import DECLINED, INSUFFICIENT, PROCESSING_ERROR, REQUIRES_ACTION

NAME = "test"
SIGNATURE_HEADER = "testpay-signature"
TOLERANCE_S = 300
# Without webhook_secret and without a shop secret key (development only): public, see webhook_secret().
DEV_WEBHOOK_SECRET = "testpay-webhook-secret"
_SEPARATORS = re.compile(r"[ -]")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    two, four = int(digits[:2]), int(digits[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if digits.startswith("6011") or two == 65:
        return "discover"
    return "unknown"


def check_card(number: str, exp_month: int, exp_year: int, now: datetime | None = None) -> str:
    """The digits after the checks every network does (format, Luhn, expiry); errors never echo the number."""
    digits = _SEPARATORS.sub("", number)
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise invalid("number", "must be 12 to 19 digits")
    if not luhn_ok(digits):
        raise invalid("number", "is not a valid card number (Luhn check failed)")
    now = now or datetime.now(UTC)
    if (exp_year, exp_month) < (now.year, now.month):
        raise invalid("expMonth", "the card has expired")
    return digits


def outcome_of(digits: str) -> str:
    if digits == REQUIRES_ACTION:
        return "requires_action"
    if digits in (DECLINED, INSUFFICIENT):
        return "decline"
    if digits == PROCESSING_ERROR:
        return "fail"
    return "succeed"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Testpay-Signature`` header value for ``body``: ``t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class TestPayProvider:
    """Follows plugins.payments.contract.PaymentProvider; never moves real money."""

    __test__ = False
    name = NAME

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.config = ctx.config

    @property
    def db(self) -> Any:
        return self.ctx.db

    async def make_token(self, number: str, exp_month: int, exp_year: int) -> tuple[str, str, str]:
        digits = check_card(number, exp_month, exp_year)
        token = f"tok_test_{secrets.token_urlsafe(18)}"
        brand, last4 = brand_of(digits), digits[-4:]
        await self.db.execute("INSERT INTO testpay_token (token, brand, last4, outcome) VALUES ($1, $2, $3, $4)",
                              token, brand, last4, outcome_of(digits))
        return token, brand, last4

    async def tokenize_card(self, card: Any) -> str:
        """Demo seed compatibility (plugins.payments pay_now): a raw card object to a token."""
        try:
            token, _b, _l = await self.make_token(card.number, card.exp_month, card.exp_year)
        except BusError as exc:  # the legacy request names the fields under card.
            raise BusError(exc.status, exc.message, field_errors=[(f"card.{f}", m) for f, m in exc.field_errors],
                           reason=exc.reason) from None
        return token

    async def authorize(self, *, token: str, intent_id: str, amount_minor: int, currency: str,
                        capture: bool) -> ProviderResult:
        await self._latency()
        async with self.db.transaction():
            row = await self.db.fetchrow("SELECT brand, last4, outcome, intent_id, action_done FROM testpay_token "
                                         "WHERE token = $1 FOR UPDATE", token)
            if row is None or (row["intent_id"] is not None and row["intent_id"] != intent_id):
                raise invalid("paymentToken", "is unknown or was used for another payment")
            if row["intent_id"] is None:
                await self.db.execute("UPDATE testpay_token SET intent_id = $2 WHERE token = $1", token, intent_id)
            charge = await self.db.fetchrow("SELECT ref, status FROM testpay_charge WHERE token = $1", token)
            if charge is not None:  # the same token again: the same answer
                return ProviderResult(status="captured" if charge["status"] == "captured" else "authorized",
                                      provider_ref=charge["ref"], brand=row["brand"], last4=row["last4"])
            outcome = row["outcome"]
            if outcome == "decline":
                return ProviderResult(status="declined", message="The card was declined.")
            if outcome == "fail":
                return ProviderResult(status="failed", message="The card could not be processed; try again later.")
            if outcome == "requires_action" and not row["action_done"]:
                return ProviderResult(status="requires_action", provider_ref="",
                                      next_action={"type": "redirect", "url": f"/test-provider/actions/{token}"})
            ref = f"tp_ch_{secrets.token_hex(12)}"
            status: ProviderStatus = "captured" if capture else "authorized"
            await self.db.execute("INSERT INTO testpay_charge (ref, token, amount_minor, currency, status) "
                                  "VALUES ($1, $2, $3, $4, $5)", ref, token, amount_minor, currency, status)
        return ProviderResult(status=status, provider_ref=ref, brand=row["brand"], last4=row["last4"])

    async def capture(self, *, provider_ref: str, amount_minor: int, currency: str) -> None:
        done = await self.db.fetchval("UPDATE testpay_charge SET status = 'captured' WHERE ref = $1 "
                                      "AND status IN ('authorized', 'captured') RETURNING ref", provider_ref)
        if done is None:
            raise BusError(Status.FAILED_PRECONDITION, "This authorization cannot be captured.",
                           reason="PAYMENT_NOT_CAPTURABLE")

    async def void(self, *, provider_ref: str) -> None:
        await self._latency()
        await self.db.execute("UPDATE testpay_charge SET status = 'voided' WHERE ref = $1 AND status = 'authorized'",
                              provider_ref)

    async def refund(self, *, provider_ref: str, amount_minor: int, currency: str, reference: str) -> str:
        """Like a real provider's idempotency key, ``reference`` refunds once: asked again, the same refund."""
        await self._latency()
        async with self.db.transaction():
            charge = await self.db.fetchrow("SELECT status, amount_minor, refunded_minor FROM testpay_charge "
                                            "WHERE ref = $1 FOR UPDATE", provider_ref)
            done = await self.db.fetchrow("SELECT id, amount_minor FROM testpay_refund WHERE charge_ref = $1 "
                                          "AND reference = $2", provider_ref, reference)
            if done is not None and done["amount_minor"] == amount_minor:
                return str(done["id"])
            if (done is not None or charge is None or charge["status"] != "captured"
                    or charge["refunded_minor"] + amount_minor > charge["amount_minor"]):
                raise BusError(Status.FAILED_PRECONDITION, "The provider refused the refund.", reason="REFUND_REFUSED")
            refund_id = f"tp_re_{secrets.token_hex(12)}"
            await self.db.execute("UPDATE testpay_charge SET refunded_minor = refunded_minor + $2 WHERE ref = $1",
                                  provider_ref, amount_minor)
            await self.db.execute("INSERT INTO testpay_refund (id, charge_ref, reference, amount_minor) "
                                  "VALUES ($1, $2, $3, $4)", refund_id, provider_ref, reference, amount_minor)
        return refund_id

    async def _latency(self) -> None:
        if self.config.delay_ms:
            await asyncio.sleep(self.config.delay_ms / 1000)  # a real network's latency, for benchmarks and tests

    def webhook_secret(self) -> str:
        """The configured secret; else one derived from the shop's secret key. The documented
        development default is public: a shop that has a secret key never accepts it (anyone
        could sign "captured" for any payment and be given the goods)."""
        if self.config.webhook_secret:
            return str(self.config.webhook_secret)
        shop_secret = self.ctx.settings.secret_key
        if not shop_secret:
            return DEV_WEBHOOK_SECRET
        return hmac.new(shop_secret.encode(), b"testpay-webhook-secret", hashlib.sha256).hexdigest()

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            t = int(parts.get("t", ""))
        except ValueError:
            raise WebhookRejected("no timestamp") from None
        if abs(time.time() - t) > TOLERANCE_S:
            raise WebhookRejected("stale")
        expected = sign(self.webhook_secret(), body, t).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise WebhookRejected("bad signature")
        try:
            data = orjson.loads(body)
            if data["type"] not in ("authorized", "captured", "declined"):
                raise WebhookRejected("unknown event type")
            return WebhookEvent(intent_id=str(data["intentId"]), type=data["type"],
                                provider_ref=str(data.get("providerRef", "")), brand=str(data.get("brand", "")),
                                last4=str(data.get("last4", "")))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise WebhookRejected("malformed body") from exc
