"""``shop seed --demo``: shipping zones, methods and tax rates for a few countries, so the full checkout works.

Idempotent: a zone, method or rate that exists (by country / name) is left as it is.
Rates are the standard VAT rates (inclusive, as European shops show prices); the US
has a sample exclusive sales tax (real US tax depends on the state and city).
"""

from __future__ import annotations

from typing import Any

# zone name, countries, [(method, {currency: price})]
ZONES: list[tuple[str, tuple[str, ...], list[tuple[str, dict[str, int]]]]] = [
    ("Germany", ("DE",), [("DHL Paket", {"EUR": 490, "USD": 550}), ("DHL Express", {"EUR": 1490, "USD": 1650})]),
    ("European Union", ("AT", "BE", "ES", "FR", "IT", "NL"),
     [("Standard", {"EUR": 990, "USD": 1090}), ("Express", {"EUR": 2490, "USD": 2790})]),
    ("United Kingdom", ("GB",), [("Royal Mail", {"GBP": 599, "EUR": 790, "USD": 790})]),
    ("United States", ("US",), [("USPS Ground", {"USD": 799, "EUR": 750}), ("UPS 2nd Day", {"USD": 1999})]),
    ("Japan", ("JP",), [("EMS", {"JPY": 2000, "USD": 1500})]),
]
# country, percent, inclusive
RATES = [("DE", "19", True), ("AT", "20", True), ("BE", "21", True), ("ES", "21", True), ("FR", "20", True),
         ("IT", "22", True), ("NL", "21", True), ("GB", "20", True), ("US", "7.25", False), ("JP", "10", True)]


async def seed_demo(rt: Any, options: dict[str, Any]) -> str:
    db = rt.db
    zones = methods = 0
    async with db.transaction():
        for name, countries, ms in ZONES:
            zid = await db.fetchval("SELECT zone_id FROM shipping_zone_country WHERE country = $1", countries[0])
            if zid is None:
                zid = await db.fetchval("INSERT INTO shipping_zone (name) VALUES ($1) RETURNING id", name)
                await db.execute("INSERT INTO shipping_zone_country (country, zone_id) SELECT unnest($1::text[]), $2 "
                                 "ON CONFLICT (country) DO NOTHING", list(countries), zid)
                zones += 1
            for mname, prices in ms:
                if await db.fetchval("SELECT 1 FROM shipping_method WHERE zone_id = $1 AND name = $2", zid, mname):
                    continue
                mid = await db.fetchval("INSERT INTO shipping_method (zone_id, name) VALUES ($1, $2) RETURNING id",
                                        zid, mname)
                await db.execute("INSERT INTO shipping_method_price (method_id, currency, price_minor) "
                                 "SELECT $1, c, p FROM unnest($2::text[], $3::bigint[]) AS t(c, p)",
                                 mid, list(prices), list(prices.values()))
                methods += 1
        rates = 0
        for country, rate, inclusive in RATES:
            done = await db.fetchval("INSERT INTO shipping_tax_rate (country, rate, inclusive) VALUES ($1, $2, $3) "
                                     "ON CONFLICT (country) DO NOTHING RETURNING true", country, rate, inclusive)
            rates += bool(done)
    return f"{zones} zones, {methods} shipping methods, {rates} tax rates added"
