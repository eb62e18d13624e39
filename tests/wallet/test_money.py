"""Currencies, exact conversion with half-even rounding, config validation, card checks (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from kernel.core.iso4217 import EXPONENTS
from kernel.core.messages import DecodeError, decode
from kernel.core.status import BusError
from kernel.engine.config import ConfigError
from kernel.host.loader import discover
from plugins.testpay.provider import brand_of, check_card, luhn_ok
from plugins.wallet.contract import Card
from plugins.wallet.money import Money, WalletConfig, convert_exact


def money(**config) -> Money:
    from kernel.core.messages import camel

    return Money(decode(WalletConfig, {camel(k): v for k, v in config.items()}))


def test_iso4217_exponents_follow_the_standard():
    assert (EXPONENTS["JPY"], EXPONENTS["EUR"], EXPONENTS["BHD"], EXPONENTS["CLF"]) == (0, 2, 3, 4)
    assert (EXPONENTS["KWD"], EXPONENTS["KRW"], EXPONENTS["ISK"], EXPONENTS["USD"]) == (3, 0, 0, 2)
    assert "XXX" not in EXPONENTS and "XAU" not in EXPONENTS
    assert all(len(c) == 3 and c.isupper() for c in EXPONENTS)


def test_conversion_goes_through_major_units_and_exponents():
    m = money()
    assert m.convert(100, "EUR", "JPY") == 162  # 1 EUR * 161.5 = 161.5 JPY -> half-even 162
    assert m.convert(1000, "JPY", "EUR") == 620  # 1000 JPY * 0.0062 = 6.20 EUR
    assert m.convert(1, "USD", "BHD") == 4  # 0.01 USD * 0.377 = 0.00377 BHD = 3.77 fils
    assert m.convert(12345, "EUR", "EUR") == 12345


def test_rounding_is_half_to_even():
    rate = Fraction(1, 2)
    assert [convert_exact(n, 2, 2, rate) for n in (1, 3, 5, 7)] == [0, 2, 2, 4]  # 0.5, 1.5, 2.5, 3.5
    assert convert_exact(25, 2, 1, Fraction(1)) == 2  # 0.25 EUR-like -> 2.5 tenths -> 2
    assert convert_exact(35, 2, 1, Fraction(1)) == 4


def test_missing_rate_is_currency_mismatch_and_unknown_code_is_invalid():
    m = money(exchange_rates={"EUR/USD": "1.1"})
    assert m.convert(100, "EUR", "USD") == 110
    with pytest.raises(BusError) as exc:
        m.convert(100, "USD", "EUR")
    assert exc.value.reason == "CURRENCY_MISMATCH"
    with pytest.raises(BusError) as exc:
        m.convert(100, "XXX", "EUR")
    assert exc.value.field_errors[0][0] == "fromCurrency"


@pytest.mark.parametrize("config, field", [
    ({"currencies": ["EUR", "XXX"]}, "currencies[1]"),
    ({"currencies": ["eur"]}, "currencies[0]"),
    ({"exchange_rates": {"USD/EUR": 0.92}}, "exchangeRates.USD/EUR"),
    ({"exchange_rates": {"USD/EUR": "-1"}}, "exchangeRates.USD/EUR"),
    ({"exchange_rates": {"USD/EUR": "0"}}, "exchangeRates.USD/EUR"),
    ({"exchange_rates": {"USD-EUR": "1"}}, "exchangeRates.USD-EUR"),
    ({"exchange_rates": {"USD/USD": "1"}}, "exchangeRates.USD/USD"),
    ({"exchange_rates": {"ABC/EUR": "1"}}, "exchangeRates.ABC/EUR"),
    ({"exchange_rates": "1.0"}, "exchangeRates"),
    ({"max_topup_minor": 0}, "maxTopupMinor"),
])
def test_bad_config_names_the_setting(config, field):
    from kernel.core.messages import camel

    with pytest.raises(DecodeError) as exc:
        decode(WalletConfig, {camel(k): v for k, v in config.items()})
    assert field in [e.field for e in exc.value.errors]


def test_bad_config_stops_startup_with_a_message_naming_the_plugin(settings):
    import plugins.wallet as wallet_plugin
    from tests.wallet import fake_users

    bad = settings.with_(plugin_config={"wallet": {"currencies": ["EUR", "XXX"]}})
    with pytest.raises(ConfigError, match=r"plugins\.wallet\.currencies\[1\]"):
        discover(bad, [wallet_plugin, fake_users])


def test_luhn_and_brands():
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert brand_of("4242424242424242") == "visa"
    assert brand_of("5555555555554444") == "mastercard"
    assert brand_of("378282246310005") == "amex"


def card_digits(card: Card, now: datetime) -> str:
    return check_card(card.number, card.exp_month, card.exp_year, now)


def _card(number: str, month: int = 12, year: int = 2030) -> Card:
    return Card(number=number, exp_month=month, exp_year=year, cvc="123")


def test_card_checks_name_the_field():
    now = datetime(2026, 11, 26, tzinfo=UTC)
    assert card_digits(_card("4242 4242 4242 4242"), now) == "4242424242424242"
    for number in ("4242424242424241", "42424242abcd4242", "4242"):
        with pytest.raises(BusError) as exc:
            card_digits(_card(number), now)
        assert exc.value.field_errors[0][0] == "number"
    with pytest.raises(BusError) as exc:
        card_digits(_card("4242424242424242", month=10, year=2026), now)
    assert exc.value.field_errors[0][0] == "expMonth"
    assert card_digits(_card("4242424242424242", month=11, year=2026), now)  # valid through the end of its month
