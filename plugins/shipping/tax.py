"""Exact tax arithmetic: rational numbers, one half-even rounding per order.

The rule (docs/orders.md, "Tax"):

* exclusive rate r: ``tax = round_half_even((subtotal + shipping) * r)``; the
  order total is subtotal + shipping + tax;
* inclusive rate r: the prices already hold the tax;
  ``tax = round_half_even((subtotal + shipping) * r / (1 + r))``, and the tax is
  taken out of the two parts in proportion (shipping's share rounded half-even,
  the subtotal takes the rest), so subtotal + shipping + tax is exactly what the
  shopper was shown.

Rounding happens once per order, never per line, exactly like the wallet's
currency conversions (``Fraction`` and Python's ``round``, which is half-even).
Amounts are minor units of the order's currency, so the currency's exponent
(JPY 0, EUR 2, BHD 3) needs no special case: a minor unit is the smallest amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


def rate_fraction(percent: str) -> Fraction:
    """``"7.25"`` -> 29/400 (exact)."""
    return Fraction(Decimal(percent)) / 100


def round_half_even(x: Fraction) -> int:
    return round(x)  # Fraction.__round__ without ndigits rounds half to even


@dataclass(frozen=True, slots=True)
class Taxed:
    subtotal_minor: int
    shipping_minor: int
    tax_minor: int

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.shipping_minor + self.tax_minor


def apply_tax(line_totals: list[int] | tuple[int, ...], shipping: int, percent: str, inclusive: bool) -> Taxed:
    subtotal = sum(line_totals)
    rate = rate_fraction(percent)
    base = subtotal + shipping
    if not inclusive:
        return Taxed(subtotal, shipping, round_half_even(base * rate))
    tax = round_half_even(base * rate / (1 + rate))
    ship_tax = round_half_even(Fraction(tax * shipping, base)) if base else 0
    return Taxed(subtotal - (tax - ship_tax), shipping - ship_tax, tax)
