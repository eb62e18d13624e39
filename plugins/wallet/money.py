"""Currencies, the plugin's config, and exact currency conversion.

A rate "USD/EUR" = "0.92" means 1 major unit of USD (one dollar) buys 0.92 major
units of EUR. Amounts are converted with exact rational arithmetic
(``fractions.Fraction``) through the currencies' ISO 4217 exponents, and the
result is rounded once, half to even (banker's rounding), to the target's minor
unit. Rates are never floats: the config gives them as decimal strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from kernel.core.iso4217 import EXPONENTS
from kernel.core.messages import INT64_MAX, DecodeError, FieldError, constraint, message
from kernel.core.status import BusError, Status, invalid

DEFAULT_CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF", "BHD")
DEFAULT_RATES: dict[str, str] = {
    "EUR/USD": "1.087", "USD/EUR": "0.92",
    "EUR/GBP": "0.86", "GBP/EUR": "1.163",
    "EUR/JPY": "161.5", "JPY/EUR": "0.0062",
    "EUR/CHF": "0.94", "CHF/EUR": "1.064",
    "EUR/BHD": "0.41", "BHD/EUR": "2.439",
    "USD/GBP": "0.79", "GBP/USD": "1.266",
    "USD/JPY": "148.6", "JPY/USD": "0.00673",
    "USD/CHF": "0.865", "CHF/USD": "1.156",
    "USD/BHD": "0.377", "BHD/USD": "2.653",
}
_RATE_RE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")
_PAIR_RE = re.compile(r"([A-Z]{3})/([A-Z]{3})")


def parse_rates(raw: Any) -> dict[tuple[str, str], Fraction]:
    """``{"USD/EUR": "0.92"}`` -> ``{("USD", "EUR"): Fraction(23, 25)}``; FieldError names the bad entry."""
    if not isinstance(raw, Mapping):
        raise FieldError("exchangeRates", 'must be a table like {"USD/EUR" = "0.92"}')
    out: dict[tuple[str, str], Fraction] = {}
    for pair, value in raw.items():
        where = f"exchangeRates.{pair}"
        m = _PAIR_RE.fullmatch(str(pair))
        if m is None:
            raise FieldError(where, "must be named FROM/TO with ISO 4217 codes, e.g. USD/EUR")
        src, dst = m.group(1), m.group(2)
        if src not in EXPONENTS or dst not in EXPONENTS:
            raise FieldError(where, "names a currency that is not in the ISO 4217 list")
        if src == dst:
            raise FieldError(where, "converts a currency to itself")
        if not isinstance(value, str) or not _RATE_RE.fullmatch(value):
            raise FieldError(where, 'must be a decimal string such as "0.92" (never a float)')
        rate = Fraction(value)
        if rate <= 0:
            raise FieldError(where, "must be greater than zero")
        out[(src, dst)] = rate
    return out


@message
class WalletConfig:
    """``[plugins.wallet]`` in the TOML config."""

    currencies: tuple[str, ...] = constraint(default=DEFAULT_CURRENCIES, min_len=1, max_len=200,
                                             doc="ISO 4217 codes the shop accepts")
    max_topup_minor: int = constraint(default=100_000_000, min=1, doc="largest top-up per call, in minor units")
    exchange_rates: Any = constraint(default=DEFAULT_RATES, doc='{"FROM/TO" = "decimal"}; converts major units')
    allow_demo_topup: bool = True  # top-ups without a card, funded by system:funding (demo shops)
    # Wallet payments go into system:sales, ONE row per currency that every checkout locks until its commit:
    # orders are serial on it (one WAL flush each). N > 1 spreads them over N sales accounts (system:sales,
    # system:sales#1 .. #N-1), chosen by the buyer, so N commits can share a flush (docs/wallets.md).
    sales_stripes: int = constraint(default=1, min=1, max=64, doc="sales accounts per currency (hot-row striping)")

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        for i, code in enumerate(self.currencies):
            if code not in EXPONENTS:
                errors.append(FieldError(f"currencies[{i}]", f"{code!r} is not an ISO 4217 currency with a minor unit"))
        try:
            parse_rates(self.exchange_rates)
        except FieldError as exc:
            errors.append(exc)
        if errors:
            raise DecodeError(errors)


class Money:
    """The accepted currencies and the rates, resolved once from the config."""

    def __init__(self, config: WalletConfig) -> None:
        self.accepted = frozenset(config.currencies)
        self.ordered = tuple(dict.fromkeys(config.currencies))
        self.max_topup_minor = config.max_topup_minor
        self.rates = parse_rates(config.exchange_rates)

    def check_accepted(self, currency: str, field: str = "currency") -> str:
        """The currency, when the shop accepts it; INVALID_ARGUMENT naming ``field`` otherwise."""
        if currency not in self.accepted:
            raise invalid(field, f"{currency!r} is not accepted here; use one of {', '.join(self.ordered)}")
        return currency

    def check_amount(self, amount_minor: int, field: str = "amountMinor", *, maximum: int | None = None) -> int:
        if amount_minor <= 0:
            raise invalid(field, "must be a positive integer (minor units)")
        if maximum is not None and amount_minor > maximum:
            raise invalid(field, f"must be at most {maximum}")
        return amount_minor

    def convert(self, amount_minor: int, src: str, dst: str) -> int:
        """``amount_minor`` of ``src`` in minor units of ``dst``, rounded half to even."""
        for field, code in (("fromCurrency", src), ("toCurrency", dst)):
            if code not in EXPONENTS:
                raise invalid(field, f"{code!r} is not an ISO 4217 currency")
        if src == dst:
            return amount_minor
        rate = self.rates.get((src, dst))
        if rate is None:
            raise BusError(Status.FAILED_PRECONDITION, f"No exchange rate from {src} to {dst} is configured.",
                           reason="CURRENCY_MISMATCH")
        result = convert_exact(amount_minor, EXPONENTS[src], EXPONENTS[dst], rate)
        if abs(result) > INT64_MAX:
            raise invalid("amountMinor", "is too large to convert")
        return result


def convert_exact(amount_minor: int, src_exp: int, dst_exp: int, rate: Fraction) -> int:
    """Exact conversion: minor -> major (/10^src) -> * rate -> minor (*10^dst), one half-even rounding."""
    value = Fraction(amount_minor, 10**src_exp) * rate * 10**dst_exp
    rounded: int = round(value)  # Fraction.__round__ rounds half to even
    return rounded
