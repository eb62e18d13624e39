"""Piccolo tables mirroring migrations/orders exactly (the migrations are the source of truth;
tests/test_tables.py compares the two)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, Bytea, ForeignKey, Integer, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from kernel.storage.columns import Char


class CartRow(Table, tablename="orders_cart"):
    id = UUID(primary_key=True)
    user_id = Text(unique=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CartItemRow(Table, tablename="orders_cart_item"):
    # The real primary key is (cart_id, variant_id); Piccolo wants one column.
    cart_id = ForeignKey(CartRow, primary_key=True, null=False)
    product_id = Text()
    variant_id = Text()
    qty = Integer()
    added_at = Timestamptz()


class OrderRow(Table, tablename="orders_order"):
    id = UUID(primary_key=True)
    user_id = Text()
    status = Text()
    total_minor = BigInt()
    currency = Char(3)
    payment_method = Text()
    wallet_transaction_id = Text(null=True, default=None)
    card_brand = Text(null=True, default=None)
    card_last4 = Text(null=True, default=None)
    charge_id = Text(null=True, default=None)
    refund_id = Text(null=True, default=None)
    created_at = Timestamptz()
    paid_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    payment_id = Text(null=True, default=None)  # the payment intent (card orders)
    payment_provider = Text(null=True, default=None)
    cancel_reason = Text(null=True, default=None)  # e.g. PAYMENT_EXPIRED
    # m0004_fulfilment
    subtotal_minor = BigInt(default=0)
    shipping_minor = BigInt(default=0)
    tax_minor = BigInt(default=0)
    refunded_minor = BigInt(default=0)
    email = Text(null=True, default=None)
    shipping_address = JSONB(null=True, default=None)
    shipping_method = JSONB(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    client_ip = Text(null=True, default=None)  # m0006_unpaid_cap: guests' unpaid orders are capped per address


class OrderItemRow(Table, tablename="orders_order_item"):
    id = UUID(primary_key=True)
    order_id = ForeignKey(OrderRow, null=False)
    position = Integer()
    product_id = Text()
    slug = Text()
    name = Text()
    qty = Integer()
    unit_price_minor = BigInt()
    currency = Char(3)
    line_total_minor = BigInt()
    original_unit_price_minor = BigInt(null=True, default=None)
    original_currency = Char(3, null=True, default=None)
    variant_id = Text()
    sku = Text()
    options = JSONB(default="{}")


class FulfillmentRow(Table, tablename="orders_fulfillment"):
    id = UUID(primary_key=True)
    order_id = ForeignKey(OrderRow, null=False, on_delete=OnDelete.cascade)
    carrier = Text()
    tracking_number = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class RefundRow(Table, tablename="orders_refund"):
    id = UUID(primary_key=True)
    order_id = ForeignKey(OrderRow, null=False, on_delete=OnDelete.cascade)
    amount_minor = BigInt()
    currency = Char(3)
    reason = Text(default="")
    payment_refund_id = Text(null=True, default=None)
    retry_at = Timestamptz(null=True, default=None)  # a card refund not confirmed yet is retried after this
    created_at = Timestamptz(default=TimestamptzNow())


class SecretRow(Table, tablename="orders_secret"):
    name = Text(primary_key=True)
    value = Bytea()


TABLES = [CartRow, CartItemRow, OrderRow, OrderItemRow, FulfillmentRow, RefundRow, SecretRow]
