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


class ReviewEligibility(Table, tablename="review_eligibility"):
    # The primary key is (user_id, product_id, order_id); Piccolo names one column
    # (without one it would invent an ``id`` column the table does not have).
    user_id = Text(primary_key=True)
    product_id = Text()
    order_id = Text()
    created_at = Timestamptz(default=TimestamptzNow())


TABLES = [ProductReview, ReviewEligibility]
