"""Piccolo tables mirroring migrations/shipping exactly (tests/test_tables.py compares the two)."""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, ForeignKey, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from kernel.storage.columns import Char


class AddressRow(Table, tablename="shipping_address"):
    id = UUID(primary_key=True)
    user_id = Text()
    name = Text()
    line1 = Text()
    line2 = Text(default="")
    city = Text()
    postal_code = Text(default="")
    region = Text(default="")
    country = Char(2)
    phone = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ZoneRow(Table, tablename="shipping_zone"):
    id = UUID(primary_key=True)
    name = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class ZoneCountryRow(Table, tablename="shipping_zone_country"):
    country = Char(2, primary_key=True)
    zone_id = ForeignKey(ZoneRow, null=False, on_delete=OnDelete.cascade)


class MethodRow(Table, tablename="shipping_method"):
    id = UUID(primary_key=True)
    zone_id = ForeignKey(ZoneRow, null=False, on_delete=OnDelete.cascade)
    name = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class MethodPriceRow(Table, tablename="shipping_method_price"):
    # The real primary key is (method_id, currency); Piccolo wants one column.
    method_id = ForeignKey(MethodRow, primary_key=True, null=False, on_delete=OnDelete.cascade)
    currency = Char(3)
    price_minor = BigInt()


class TaxRateRow(Table, tablename="shipping_tax_rate"):
    country = Char(2, primary_key=True)
    rate = Text()
    inclusive = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())


TABLES = [AddressRow, ZoneRow, ZoneCountryRow, MethodRow, MethodPriceRow, TaxRateRow]
