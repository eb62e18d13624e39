"""The sales report behind the admin dashboard: orders and revenue per day, per currency."""

from __future__ import annotations

from typing import Any

from .contract import SalesDay, SalesReport, SalesSeries

# Orders that still count as sales: paid, not cancelled or refunded since (a plugin may add statuses
# such as fulfilled; those count too unless they are one of these).
NOT_SALES = ("pending", "cancelled", "refunded")

_SQL = """
WITH days AS (
    SELECT generate_series((now() AT TIME ZONE 'UTC')::date - ($1::int - 1), (now() AT TIME ZONE 'UTC')::date,
                           interval '1 day')::date AS day
), paid AS (
    SELECT (paid_at AT TIME ZONE 'UTC')::date AS day, currency, count(*) AS n, sum(total_minor) AS revenue
    FROM orders_order
    WHERE paid_at IS NOT NULL AND paid_at >= ((now() AT TIME ZONE 'UTC')::date - ($1::int - 1)) AT TIME ZONE 'UTC'
      AND NOT (status = ANY($2::text[]))
    GROUP BY 1, 2
), currencies AS (SELECT DISTINCT currency FROM paid)
SELECT c.currency, to_char(d.day, 'YYYY-MM-DD') AS day, coalesce(p.n, 0)::bigint AS n,
       coalesce(p.revenue, 0)::bigint AS revenue
FROM currencies c CROSS JOIN days d LEFT JOIN paid p ON p.day = d.day AND p.currency = c.currency
ORDER BY c.currency, d.day
"""


async def sales_report(db: Any, days: int) -> SalesReport:
    rows = await db.fetch(_SQL, days, list(NOT_SALES))
    by: dict[str, list[SalesDay]] = {}
    for r in rows:
        by.setdefault(r["currency"], []).append(SalesDay(date=r["day"], orders=r["n"], revenue_minor=r["revenue"]))
    series = tuple(SalesSeries(currency=c, orders=sum(d.orders for d in ds), revenue_minor=sum(d.revenue_minor for d in ds),
                               days=tuple(ds)) for c, ds in by.items())
    since = await db.fetchval("SELECT to_char((now() AT TIME ZONE 'UTC')::date - ($1::int - 1), 'YYYY-MM-DD')", days)
    return SalesReport(days=days, since=since, currencies=series)
