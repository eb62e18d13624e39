"""Shipping: saved addresses, zones (sets of countries) with methods priced per currency, tax rates per country.

Users are referenced by id (no foreign key into auth's tables).
"""

from kernel.storage.migrate import manager, sql

ID = "2026-12-01T05:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "addresses, shipping zones and methods, tax rates"


async def forwards():  # type: ignore[no-untyped-def]
    return manager(ID, "shipping", DESCRIPTION, sql("""
        CREATE TABLE IF NOT EXISTS shipping_address (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            line1 TEXT NOT NULL,
            line2 TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL,
            postal_code TEXT NOT NULL DEFAULT '',
            region TEXT NOT NULL DEFAULT '',
            country CHAR(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
            phone TEXT NOT NULL DEFAULT '',
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS shipping_address_user ON shipping_address (user_id, created_at, id);

        CREATE TABLE IF NOT EXISTS shipping_zone (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            name TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
        -- A country belongs to at most one zone, so its methods are never ambiguous.
        CREATE TABLE IF NOT EXISTS shipping_zone_country (
            country CHAR(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
            zone_id UUID NOT NULL REFERENCES shipping_zone (id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS shipping_zone_country_zone ON shipping_zone_country (zone_id);
        CREATE TABLE IF NOT EXISTS shipping_method (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            zone_id UUID NOT NULL REFERENCES shipping_zone (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS shipping_method_zone ON shipping_method (zone_id, created_at);
        CREATE TABLE IF NOT EXISTS shipping_method_price (
            method_id UUID NOT NULL REFERENCES shipping_method (id) ON DELETE CASCADE,
            currency CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
            price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
            PRIMARY KEY (method_id, currency)
        );

        -- rate: an exact decimal percentage as text ("19", "7.25"); never a float.
        CREATE TABLE IF NOT EXISTS shipping_tax_rate (
            country CHAR(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
            rate TEXT NOT NULL,
            inclusive BOOLEAN NOT NULL DEFAULT false,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
    """))
