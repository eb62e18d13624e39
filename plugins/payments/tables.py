"""Piccolo tables of the payments plugin (the schema is in migrations/payments/; tests/test_tables.py compares)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, ForeignKey, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from kernel.storage.columns import Char


class IntentRow(Table, tablename="payments_intent"):
    id = UUID(primary_key=True)
    user_id = Text()
    purpose = Text()
    reference = Text()
    notify = Text()  # the owner's internal method told about outcomes
    provider = Text()
    status = Text()
    amount_minor = BigInt()
    currency = Char(3)
    capture_method = Text()
    client_secret_hash = Text()
    provider_ref = Text(null=True, default=None)
    brand = Text(null=True, default=None)
    last4 = Text(null=True, default=None)
    next_action = JSONB(null=True, default=None)
    last_error = Text(null=True, default=None)
    captured_minor = BigInt(default=0)
    refunded_minor = BigInt(default=0)
    expires_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RefundRow(Table, tablename="payments_refund"):
    id = UUID(primary_key=True)
    intent_id = ForeignKey(IntentRow, null=False, on_delete=OnDelete.restrict)
    amount_minor = BigInt()
    reference = Text()
    provider_ref = Text(null=True, default=None)  # NULL: reserved, the provider has not confirmed it yet
    retry_at = Timestamptz(null=True, default=None)  # a pending refund is finished by the expiry job after this
    created_at = Timestamptz(default=TimestamptzNow())


TABLES = [IntentRow, RefundRow]
