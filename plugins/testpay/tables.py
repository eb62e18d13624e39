"""Piccolo tables of the test provider (schema in migrations/testpay/; tests/test_tables.py compares)."""

from __future__ import annotations

from piccolo.columns import BigInt, Boolean, ForeignKey, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class TokenRow(Table, tablename="testpay_token"):
    token = Text(primary_key=True)
    brand = Text()
    last4 = Text()
    outcome = Text()  # which test card made it: succeed | decline | fail | requires_action
    intent_id = Text(null=True, default=None)  # a token pays one intent only
    action_done = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class ChargeRow(Table, tablename="testpay_charge"):
    charge_ref = Text(primary_key=True, db_column_name="ref")  # `ref` is a Table method: another attribute name
    token = ForeignKey(TokenRow, null=False, on_delete=OnDelete.restrict, unique=True)
    amount_minor = BigInt()
    currency = Text()
    status = Text()
    refunded_minor = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class RefundRow(Table, tablename="testpay_refund"):
    id = Text(primary_key=True)
    charge_ref = ForeignKey(ChargeRow, null=False, on_delete=OnDelete.restrict)
    reference = Text()  # the shop's idempotency reference: one refund per (charge, reference)
    amount_minor = BigInt()
    created_at = Timestamptz(default=TimestamptzNow())


TABLES = [TokenRow, ChargeRow, RefundRow]
