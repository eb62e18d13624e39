"""The product list's filters as SQL: price range, in stock and option values, optionally in a display currency.

A product matches when ONE of its variants satisfies every variant-level filter
(``option.size=M&option.colour=Navy&inStock=true&maxPrice=2000`` asks for a navy M
in stock at 20.00 or less). Values of one option name are alternatives (OR), names
combine (AND). With ``displayCurrency`` the price filters and price sorts use the
converted price (see display.py); otherwise they compare the product's own minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from .contract import ListProducts
from .display import Conversion


@dataclass
class Filters:
    product_where: list[str] = field(default_factory=list)  # ANDed into the list's WHERE (alias p)
    variant_where: list[str] = field(default_factory=list)  # a variant (alias v) that matches all of these
    # LEFT JOINs fx(currency, num, den) on p.currency when a display currency is asked (no row: no rate,
    # so the display price is NULL, fails every price filter and sorts last).
    display_join: str = ""
    display_col: str = ""  # ", <display price> AS display_price"
    variant_price: str = "v.price_minor"  # a variant's price in the currency the price filters compare in


def convert_sql(amount: str) -> str:
    return f"catalog_convert_half_even({amount}, fx.num, fx.den)"


def display_order(sort: str) -> str:
    price = convert_sql("p.price_minor")
    # Products without a display price (no rate for their currency) come last either way.
    return f"{price} NULLS LAST, p.id" if sort == "price_asc" else f"{price} DESC NULLS LAST, p.id DESC"


def build(req: ListProducts, conv: Conversion | None, args: list[Any]) -> Filters:
    """SQL for the request's filters; parameters are appended to ``args`` (never interpolated)."""
    f = Filters()

    def param(value: Any, cast: str = "") -> str:
        args.append(value)
        return f"${len(args)}{cast}"

    if conv is not None:
        f.display_join = (
            f" LEFT JOIN unnest({param(conv.sources, '::text[]')}, {param(conv.nums, '::numeric[]')}, "
            f"{param(conv.dens, '::numeric[]')}) AS fx(currency, num, den) ON fx.currency = p.currency")
        f.display_col = f", {convert_sql('p.price_minor')} AS display_price"
        f.variant_price = convert_sql("v.price_minor")
    if req.min_price is not None:
        f.variant_where.append(f"{f.variant_price} >= {param(req.min_price)}")
    if req.max_price is not None:
        f.variant_where.append(f"{f.variant_price} <= {param(req.max_price)}")
    if req.in_stock:
        f.variant_where.append("v.stock_qty > 0")
    by_name: dict[str, list[str]] = {}
    for o in req.options:
        values = by_name.setdefault(o.name, [])
        if o.value not in values:
            values.append(o.value)
    for name in sorted(by_name):
        # Containment (@>) of {"name": "value"}, one alternative per value.
        objects = [orjson.dumps({name: v}).decode() for v in by_name[name]]
        f.variant_where.append(f"v.options @> ANY({param(objects, '::jsonb[]')})")
    if f.variant_where:
        f.product_where.append("EXISTS (SELECT 1 FROM catalog_variant v WHERE v.product_id = p.id AND "
                               + " AND ".join(f.variant_where) + ")")
    return f
