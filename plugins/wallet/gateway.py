"""Card payments: the PaymentProvider protocol and the built-in test gateway.

The provider only talks to the card network; the Payments servicer records
charges (brand and last 4 digits, never the number) and refunds in PostgreSQL.
The provider is chosen by ``payment_provider`` in ``[plugins.wallet]``; add one
by implementing :class:`PaymentProvider` and registering it in :data:`PROVIDERS`.

Test cards (any future expiry, any 3-digit CVC):

=====================  ==========================================================
4242424242424242       succeeds (as does any other Luhn-valid number)
4000000000000002       declined: FAILED_PRECONDITION, reason CARD_DECLINED
4000000000009995       declined for insufficient funds: CARD_DECLINED
4000000000000119       processing error: UNAVAILABLE, reason CARD_PROCESSING_ERROR
=====================  ==========================================================
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kernel.status import BusError, Status, invalid

from .contract import Card

DECLINED = "4000000000000002"
INSUFFICIENT = "4000000000009995"
PROCESSING_ERROR = "4000000000000119"
_SEPARATORS = re.compile(r"[ -]")


@dataclass(frozen=True, slots=True)
class Authorization:
    """What the provider tells us about a successful charge."""

    brand: str
    last4: str
    provider_ref: str


class PaymentProvider(Protocol):
    name: str

    async def charge(self, card: Card, currency: str, amount_minor: int, reference: str) -> Authorization:
        """Charge the card or raise BusError (INVALID_ARGUMENT, CARD_DECLINED, CARD_PROCESSING_ERROR)."""
        ...

    async def refund(self, provider_ref: str, currency: str, amount_minor: int, reference: str) -> str:
        """Refund part or all of a charge; returns the provider's refund reference."""
        ...


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


def card_digits(card: Card, now: datetime | None = None) -> str:
    """The card number's digits after the checks every gateway does: format, Luhn, expiry."""
    digits = _SEPARATORS.sub("", card.number)
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not digits.isascii():
        raise invalid("card.number", "must be 12 to 19 digits")
    if not luhn_ok(digits):
        raise invalid("card.number", "is not a valid card number (Luhn check failed)")
    now = now or datetime.now(UTC)
    if (card.exp_year, card.exp_month) < (now.year, now.month):
        raise invalid("card.expMonth", "the card has expired")
    return digits


class TestGateway:
    """Accepts test cards; never moves real money. Numbers are not logged or kept."""

    name = "test"
    __test__ = False  # not a pytest test class

    def __init__(self, demo: bool = True) -> None:
        # Test cards are a demo convenience: outside demo mode they would be free goods.
        self.demo = demo

    async def charge(self, card: Card, currency: str, amount_minor: int, reference: str) -> Authorization:
        if not self.demo:
            raise BusError(Status.FAILED_PRECONDITION,
                           "Card payments are not available: this shop has no payment provider configured "
                           "(test cards work only in demo mode, SHOP_DEMO=1).", reason="PAYMENT_PROVIDER_UNAVAILABLE")
        digits = card_digits(card)
        if digits == DECLINED:
            raise BusError(Status.FAILED_PRECONDITION, "The card was declined.", reason="CARD_DECLINED")
        if digits == INSUFFICIENT:
            raise BusError(Status.FAILED_PRECONDITION, "The card was declined: insufficient funds.",
                           reason="CARD_DECLINED")
        if digits == PROCESSING_ERROR:
            raise BusError(Status.UNAVAILABLE, "The card could not be processed; try again later.",
                           reason="CARD_PROCESSING_ERROR")
        return Authorization(brand=brand_of(digits), last4=digits[-4:], provider_ref=f"test_ch_{uuid.uuid4().hex}")

    async def refund(self, provider_ref: str, currency: str, amount_minor: int, reference: str) -> str:
        return f"test_re_{uuid.uuid4().hex}"


PROVIDERS: dict[str, type] = {"test": TestGateway}


def make_provider(name: str, demo: bool = True) -> PaymentProvider:
    provider: PaymentProvider = PROVIDERS[name](demo=demo) if name == "test" else PROVIDERS[name]()
    return provider
