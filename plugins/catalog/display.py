"""Display prices: the wallet's exchange rates turned into SQL, so lists can sort and filter by them.

Conversion is the wallet's (plugins/wallet/money.py, used by checkout): the exact
rate as a fraction, through the ISO 4217 exponents, rounded once, half to even, to
the display currency's minor unit. Here a rate becomes ``num/den = rate x
10^dst_exp / 10^src_exp`` and the SQL function ``catalog_convert_half_even`` (see
migrations/catalog/m0002_variants.py) does the same integer arithmetic; the tests
hold it equal to ``Wallets.convert`` and to what checkout charges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kernel.core import iso4217
from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from plugins.wallet.contract import GetRates, Wallets  # the contract only; the wallet plugin may be off

FIELD = "displayCurrency"


@dataclass(frozen=True, slots=True)
class Conversion:
    """Per catalog currency, the exact factor into the display currency.

    ``missing``: catalog currencies with no configured rate into it. Their products get no
    display price (null), drop out of display-price filters, sort after the others and are
    left out of the price facet; the request itself still succeeds.
    """

    currency: str
    sources: list[str]
    nums: list[int]
    dens: list[int]
    missing: list[str] = field(default_factory=list)


def _mismatch(message: str) -> BusError:
    return BusError(Status.INVALID_ARGUMENT, message, reason="CURRENCY_MISMATCH", field_errors=[(FIELD, message)])


async def catalog_currencies(db: Any) -> list[str]:
    """Distinct currencies of the catalog: a skip scan over the currency index (a handful of steps)."""
    records = await db.fetch(
        "WITH RECURSIVE t(c) AS (SELECT min(currency) FROM catalog_product UNION ALL "
        "SELECT (SELECT min(currency) FROM catalog_product WHERE currency > t.c) FROM t WHERE t.c IS NOT NULL) "
        "SELECT c FROM t WHERE c IS NOT NULL")
    return [r["c"] for r in records]


async def conversion(db: Any, bus: Any, target: str, ctx: CallContext) -> Conversion:
    """The factors from every currency the catalog uses into ``target`` (those without a rate: ``missing``).

    CURRENCY_MISMATCH only when no conversion is possible at all (the wallet plugin is off).
    """
    if target not in iso4217.EXPONENTS:
        raise BusError(Status.INVALID_ARGUMENT, f"{target!r} is not an ISO 4217 currency",
                       field_errors=[(FIELD, "is not an ISO 4217 currency")])
    try:
        rates = await bus.call(Wallets.rates_into, GetRates(to_currency=target), ctx)
    except BusError as exc:
        if exc.status in (Status.UNIMPLEMENTED, Status.NOT_FOUND, Status.UNAVAILABLE):
            raise _mismatch("display currencies need exchange rates; the wallet plugin is not enabled") from exc
        if exc.status is Status.INVALID_ARGUMENT:
            raise BusError(Status.INVALID_ARGUMENT, exc.public_message,
                           field_errors=[(FIELD, m) for _f, m in exc.field_errors] or [(FIELD, "is not accepted")]
                           ) from exc
        raise
    by_source = {r.from_currency: Fraction(r.numerator, r.denominator) for r in rates.rates}
    dst_exp = iso4217.EXPONENTS[target]
    out = Conversion(currency=target, sources=[], nums=[], dens=[])
    for src in await catalog_currencies(db):
        if src == target:
            factor = Fraction(1)
        elif src in by_source and src in iso4217.EXPONENTS:
            factor = by_source[src] * 10**dst_exp / 10 ** iso4217.EXPONENTS[src]
        else:
            # A shop owner who lacks one rate still wants the other prices shown: these products
            # keep their own price only (displayPriceMinor null) and the page names the currency.
            out.missing.append(src)
            continue
        out.sources.append(src)
        out.nums.append(factor.numerator)
        out.dens.append(factor.denominator)
    return out
