"""Tax rounding: exact rationals, half-even once per order, inclusive and exclusive, any currency exponent."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError
from plugins.shipping.contract import Quote, Shipping
from plugins.shipping.tax import apply_tax, rate_fraction
from tests.orders.shop import Shop

from .helpers import tax, zone


def test_rates_are_exact_fractions() -> None:
    assert rate_fraction("7.25") == Fraction(29, 400)
    assert rate_fraction("19") == Fraction(19, 100)
    assert rate_fraction("0.0001") == Fraction(1, 1_000_000)


@pytest.mark.parametrize(("lines", "shipping", "rate", "inclusive", "expected"), [
    # exclusive: tax on subtotal + shipping, rounded once
    ([1000, 2500], 490, "19", False, (3500, 490, 758)),  # 758.1
    ([10], 0, "5", False, (10, 0, 0)),  # 0.5 -> 0 (half to even)
    ([30], 0, "5", False, (30, 0, 2)),  # 1.5 -> 2 (half to even)
    ([5, 5], 0, "10", False, (10, 0, 1)),  # per order: 1; per line it would be 0.5 + 0.5 -> 0 + 0
    ([999], 0, "7.25", False, (999, 0, 72)),  # 72.4275
    # JPY (exponent 0): a minor unit is one yen
    ([5], 0, "10", False, (5, 0, 0)),  # 0.5 yen -> 0
    ([15], 0, "10", False, (15, 0, 2)),  # 1.5 yen -> 2
    ([1980, 3980], 800, "10", True, (5418, 727, 615)),  # 6760 / 11 = 614.54... -> 615; shipping 73 of it
    # BHD (exponent 3): fils
    ([1255], 0, "10", False, (1255, 0, 126)),  # 125.5 fils -> 126 (even)
    ([1245], 0, "10", False, (1245, 0, 124)),  # 124.5 fils -> 124 (even)
    # inclusive: the tax is taken out of what the shopper saw, split by share
    ([1190], 0, "19", True, (1000, 0, 190)),
    ([600, 400], 500, "20", True, (833, 417, 250)),
    ([0], 0, "20", True, (0, 0, 0)),
    ([100], 0, "0", False, (100, 0, 0)),
])
def test_tax_is_rounded_half_even_once_per_order(lines: list[int], shipping: int, rate: str, inclusive: bool,
                                                 expected: tuple[int, int, int]) -> None:
    t = apply_tax(lines, shipping, rate, inclusive)
    assert (t.subtotal_minor, t.shipping_minor, t.tax_minor) == expected
    if inclusive:
        assert t.total_minor == sum(lines) + shipping  # what the shopper was shown, to the minor unit
    else:
        assert t.total_minor == sum(lines) + shipping + t.tax_minor


async def test_quote_reads_the_country_rate_and_method_price(shop: Shop) -> None:
    z = await zone(shop.client, ["JP"], [("EMS", {"JPY": 1500})])
    await tax(shop.client, "JP", "10")
    ctx = CallContext().nested()
    q = await shop.bus.call(Shipping.quote, Quote(country="JP", currency="JPY", method_id=z["methods"][0]["id"],
                                                  line_totals_minor=(1980, 15)), ctx)
    assert (q.subtotal_minor, q.shipping_minor, q.tax_minor, q.total_minor) == (1995, 1500, 350, 3845)  # 349.5
    assert q.method is not None and q.method.name == "EMS"
    # No rate configured: no tax; the method does not ship elsewhere or in other currencies.
    q = await shop.bus.call(Shipping.quote, Quote(country="KR", currency="JPY", line_totals_minor=(100,)), ctx)
    assert (q.tax_minor, q.total_minor) == (0, 100)
    for country, currency in (("KR", "JPY"), ("JP", "EUR")):
        with pytest.raises(BusError) as err:
            await shop.bus.call(Shipping.quote, Quote(country=country, currency=currency,
                                                      method_id=z["methods"][0]["id"]), ctx)
        assert err.value.reason == "SHIPPING_METHOD_UNAVAILABLE"
