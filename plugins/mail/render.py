"""Mail bodies from package templates (string.Template): plain text and HTML, every value escaped in HTML."""

from __future__ import annotations

import html
from decimal import Decimal
from importlib import resources
from string import Template
from typing import Any

from kernel.core import iso4217


def money(minor: int, currency: str) -> str:
    exp = iso4217.exponent(currency) or 0
    amount = Decimal(minor).scaleb(-exp)
    return f"{amount:.{exp}f} {currency}"


def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8"))


def _address_lines(address: Any) -> list[str]:
    """An address as lines, whatever its shape (a message, a dict or a string); none: []."""
    if not address:
        return []
    if isinstance(address, str):
        return [address]
    data = address if isinstance(address, dict) else {k: getattr(address, k) for k in getattr(
        address, "__dataclass_fields__", {})}
    order = ("name", "company", "line1", "line2", "street", "postal_code", "city", "region", "country")
    lines = [str(data[k]) for k in order if data.get(k)]
    return lines or [str(v) for v in data.values() if v]


def _totals(order: Any) -> list[tuple[str, str]]:
    """(label, amount) rows above the total: subtotal, shipping and tax when the order has them."""
    cur = order.currency
    subtotal = getattr(order, "subtotal_minor", 0)
    shipping = getattr(order, "shipping_minor", 0)
    tax = getattr(order, "tax_minor", 0)
    if not (shipping or tax):
        return []
    method = getattr(order, "shipping_method", None)
    rows = [("Subtotal", money(subtotal, cur))]
    rows.append((f"Shipping ({method.name})" if method is not None else "Shipping", money(shipping, cur)))
    if tax:
        rows.append(("Tax", money(tax, cur)))
    return rows


def render(kind: str, order: Any, *, name: str, shop: str,
           shipment: tuple[str, str] | None = None, link: str | None = None) -> tuple[str, str]:
    """(text, html) of ``kind`` (order_confirmation | shipping_notice) for ``order`` (the Order message)."""
    address = _address_lines(getattr(order, "shipping_address", None) or getattr(order, "address", None))
    text_lines, html_lines = [], []
    for item in order.items:
        unit, line = money(item.unit_price_minor, item.currency), money(item.line_total_minor, item.currency)
        if kind == "order_confirmation":
            text_lines.append(f"  {item.qty} x {item.name} @ {unit} = {line}")
            html_lines.append(f'<tr><td>{html.escape(item.name)}</td><td align="right">{item.qty}</td>'
                              f'<td align="right">{html.escape(unit)}</td><td align="right">{html.escape(line)}</td></tr>')
        else:
            text_lines.append(f"  {item.qty} x {item.name}")
            html_lines.append(f'<tr><td>{html.escape(item.name)}</td><td align="right">{item.qty}</td></tr>')
    values = {"name": name, "shop": shop, "order_id": order.id, "created_at": order.created_at,
              "total": money(order.total_minor, order.currency)}
    text_address = ("\nShipping to:\n" + "\n".join(f"  {x}" for x in address) + "\n") if address else ""
    html_address = ("<p>Shipping to:<br>" + "<br>".join(html.escape(x) for x in address) + "</p>") if address else ""
    if kind == "order_confirmation":
        rows = _totals(order)
        text_lines += [""] + [f"{label}: {amount}" for label, amount in rows] if rows else []
        html_lines += [f'<tr><td colspan="3">{html.escape(label)}</td><td align="right">{html.escape(amount)}</td></tr>'
                       for label, amount in rows]
    carrier, tracking = shipment if shipment else (None, None)
    text_tracking = (f"Carrier: {carrier}\n" if carrier else "") + (f"Tracking: {tracking}\n" if tracking else "")
    html_tracking = ((f"<p>Carrier: {html.escape(carrier)}</p>" if carrier else "")
                     + (f"<p>Tracking: {html.escape(tracking)}</p>" if tracking else ""))
    # Where to follow the order: a guest's signed link (no account), else the account.
    text_follow = f"Follow your order here:\n{link}" if link else "You can follow your order in your account."
    html_follow = (f'Follow your order here: <a href="{html.escape(link)}">{html.escape(link)}</a>' if link
                   else "You can follow your order in your account.")
    text = _template(f"{kind}.txt").substitute(
        values, lines="\n".join(text_lines), address_block=text_address, tracking_block=text_tracking,
        follow=text_follow)
    page = _template(f"{kind}.html").substitute(
        {k: html.escape(str(v)) for k, v in values.items()}, lines="\n".join(html_lines),
        address_block=html_address, tracking_block=html_tracking, follow=html_follow)
    return text, page


def render_reset(*, name: str, shop: str, link: str, minutes: int) -> tuple[str, str]:
    """(text, html) of the password reset mail."""
    values = {"name": name, "shop": shop, "link": link, "minutes": str(minutes)}
    text = _template("password_reset.txt").substitute(values)
    page = _template("password_reset.html").substitute({k: html.escape(v) for k, v in values.items()})
    return text, page
