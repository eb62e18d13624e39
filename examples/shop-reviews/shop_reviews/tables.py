"""Piccolo tables for the reviews schema (the migration in migrations/ is the source of truth)."""

from __future__ import annotations

from piccolo.columns import UUID, SmallInt, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class ProductReview(Table, tablename="product_reviews"):
    id = UUID(primary_key=True)
    product_id = Text()
    user_id = Text()
    rating = SmallInt()
    body = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Set when the buyer no longer holds a paid order of the product (cancelled or refunded).
    hidden_at = Timestamptz(null=True, default=None)


TABLES = [ProductReview]
