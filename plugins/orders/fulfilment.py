"""Checkout's shipping and tax step: address, method, quote, and the order's price parts.

Called twice from checkout.py, inside its transaction: :meth:`quote` before the
order row is written (its total is the order's total) and :meth:`record` right
after. Orders works without the shipping plugin: when it is disabled, an order
has no address, no shipping and no tax (and ``shipping_required`` cannot be met).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson

from kernel.core.context import CallContext
from kernel.core.messages import INT64_MAX
from kernel.core.status import BusError, Status, precondition
from plugins.shipping.contract import Address, Quote, ResolveAddress, Shipping, ShippingMethod

from .config import OrdersConfig
from .contract import Checkout, QuoteCheckout


@dataclass(frozen=True, slots=True)
class PriceParts:
    subtotal_minor: int
    shipping_minor: int
    tax_minor: int
    address: Address | None = None
    method: ShippingMethod | None = None
    email: str | None = None
    tax_rate: str = "0"
    tax_inclusive: bool = False

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.shipping_minor + self.tax_minor


def shipping_required() -> BusError:
    return BusError(Status.INVALID_ARGUMENT, "This order ships: give a shipping address and a shipping method.",
                    reason="SHIPPING_REQUIRED",
                    field_errors=[("shippingAddress", "is required (or addressId)"),
                                  ("shippingMethodId", "is required")])


class FulfilmentStep:
    def __init__(self, plugin_ctx: Any) -> None:
        self.pctx = plugin_ctx

    @property
    def config(self) -> OrdersConfig:
        return self.pctx.config or OrdersConfig()

    @property
    def shipping_enabled(self) -> bool:
        return bool(self.pctx.bus.has(Shipping.quote))

    async def quote(self, user_id: str | None, req: Checkout | QuoteCheckout, line_totals: list[int], currency: str,
                    ctx: CallContext) -> PriceParts:
        # A guest (user id guest:...) gives the order's email at checkout; a user's is their account's.
        email = getattr(req, "email", None) if user_id is None or user_id.startswith("guest:") else ctx.principal.email
        subtotal = sum(line_totals)
        given = req.shipping_address is not None or req.address_id is not None
        if not given and req.shipping_method_id is None:
            if self.config.shipping_required:
                raise shipping_required()
            return PriceParts(subtotal, 0, 0, email=email)
        if not self.shipping_enabled:
            raise BusError(Status.FAILED_PRECONDITION, "This shop does not ship (the shipping plugin is disabled).",
                           reason="SHIPPING_UNAVAILABLE")
        if req.shipping_address is not None and req.address_id is not None:
            raise BusError(Status.INVALID_ARGUMENT, "Give shippingAddress or addressId, not both.",
                           field_errors=[("addressId", "give shippingAddress or addressId, not both")])
        if not given or (req.shipping_method_id is None and self.config.shipping_required):
            raise shipping_required()
        address = await self.pctx.bus.call(Shipping.resolve_address, ResolveAddress(
            user_id=user_id, address_id=req.address_id, address=req.shipping_address), ctx)
        q = await self.pctx.bus.call(Shipping.quote, Quote(
            country=address.country, currency=currency, method_id=req.shipping_method_id,
            line_totals_minor=tuple(line_totals)), ctx)
        if q.total_minor > INT64_MAX:
            raise precondition("ORDER_TOO_LARGE", "The order total is too large.")
        return PriceParts(q.subtotal_minor, q.shipping_minor, q.tax_minor, address, q.method, email, q.rate,
                          q.inclusive)

    @staticmethod
    def values(parts: PriceParts) -> tuple[int, int, int, str | None, str | None, str | None]:
        """subtotal, shipping, tax, email, address and method (JSON text): the fulfilment columns the checkout
        writes with the order row itself (one statement instead of an INSERT and an UPDATE)."""
        return (parts.subtotal_minor, parts.shipping_minor, parts.tax_minor, parts.email,
                None if parts.address is None else orjson.dumps(dataclasses.asdict(parts.address)).decode(),
                None if parts.method is None else orjson.dumps(dataclasses.asdict(parts.method)).decode())
