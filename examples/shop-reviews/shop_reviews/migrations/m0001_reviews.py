"""Reviews and who may write them (buyers only). No foreign keys to other plugins' tables: ids only."""

from kernel.storage.migrate import manager, sql

ID = "2026-11-26T15:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "product reviews and review eligibility"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "reviews", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS product_reviews (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            product_id TEXT NOT NULL CHECK (char_length(product_id) BETWEEN 1 AND 64),
            user_id TEXT NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
            rating SMALLINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
            body TEXT NOT NULL DEFAULT '' CHECK (char_length(body) <= 2000),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (product_id, user_id)
        );
        CREATE INDEX IF NOT EXISTS product_reviews_product_created
            ON product_reviews (product_id, created_at DESC, id);
        -- One row per (buyer, product, order): cancelling an order removes its rows,
        -- and a buyer stays eligible while any of their orders of the product stands.
        CREATE TABLE IF NOT EXISTS review_eligibility (
            user_id TEXT NOT NULL,
            product_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, product_id, order_id)
        );
        CREATE INDEX IF NOT EXISTS review_eligibility_order ON review_eligibility (order_id);
    """))
