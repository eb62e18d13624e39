"""The Orders servicer: thin methods over the cart store and the checkout flow."""

from __future__ import annotations

import dataclasses
from typing import Any

from kernel.core.context import CallContext
from plugins.payments.contract import Ack, PaymentOutcome

from .admin import AdminOps
from .cart import CartStore
from .checkout import CheckoutFlow
from .config import OrdersConfig
from .contract import (
    AddToCart,
    CancelOrder,
    Cart,
    Checkout,
    CheckoutQuote,
    CreateFulfillment,
    CreateRefund,
    CustomerPage,
    GetCart,
    GetGuestOrder,
    GetOrder,
    GetSalesReport,
    GuestLink,
    HasPurchased,
    ListAllOrders,
    ListCustomers,
    ListOrders,
    Order,
    OrderPage,
    Purchased,
    QuoteCheckout,
    RemoveCartItem,
    RemoveCartVariant,
    SalesReport,
    SetCartItem,
    SetCartVariant,
    SignGuestLink,
)
from .guest import GuestLinks, check_guest_checkout, link_invalid
from .guest_session import is_guest
from .store import load_order, order_page


class OrdersServicer:
    def __init__(self, plugin_ctx: Any) -> None:
        self.pctx = plugin_ctx
        self.carts = CartStore(plugin_ctx)
        self.flow = CheckoutFlow(plugin_ctx, self.carts)
        self.admin = AdminOps(plugin_ctx)
        self.links = GuestLinks(plugin_ctx)

    async def get_cart(self, req: GetCart, ctx: CallContext) -> Cart:
        return await self.carts.get(ctx.principal.require_user(), ctx)

    async def add_to_cart(self, req: AddToCart, ctx: CallContext) -> Cart:
        return await self.carts.add(ctx.principal.require_user(), req, ctx)

    async def set_cart_item(self, req: SetCartItem, ctx: CallContext) -> Cart:
        return await self.carts.set(ctx.principal.require_user(), req, ctx)

    async def remove_cart_item(self, req: RemoveCartItem, ctx: CallContext) -> Cart:
        return await self.carts.remove(ctx.principal.require_user(), req, ctx)

    async def set_cart_variant(self, req: SetCartVariant, ctx: CallContext) -> Cart:
        return await self.carts.set_variant(ctx.principal.require_user(), req, ctx)

    async def remove_cart_variant(self, req: RemoveCartVariant, ctx: CallContext) -> Cart:
        return await self.carts.remove_variant(ctx.principal.require_user(), req, ctx)

    async def checkout(self, req: Checkout, ctx: CallContext) -> Order:
        user_id = ctx.principal.require_user()
        if not is_guest(user_id):
            return await self.flow.checkout(user_id, req, ctx)
        check_guest_checkout(req)
        order = await self.flow.checkout(user_id, req, ctx)
        ttl = (self.pctx.config or OrdersConfig()).guest_link_ttl
        return dataclasses.replace(order, order_link=await self.links.sign(order.id, ttl))

    async def quote_checkout(self, req: QuoteCheckout, ctx: CallContext) -> CheckoutQuote:
        return await self.flow.quote(ctx.principal.require_user(), req, ctx)

    async def cancel_order(self, req: CancelOrder, ctx: CallContext) -> Order:
        return await self.flow.cancel(ctx.principal.require_user(), req, ctx)

    async def payment_outcome(self, req: PaymentOutcome, ctx: CallContext) -> Ack:
        return await self.flow.payment_outcome(req, ctx)

    async def list_orders(self, req: ListOrders, ctx: CallContext) -> OrderPage:
        return await order_page(self.pctx.db, page=req.page, page_size=req.page_size, user_id=ctx.principal.require_user())

    async def get_order(self, req: GetOrder, ctx: CallContext) -> Order:
        return await load_order(self.pctx.db, req.id, ctx.principal.require_user())

    async def get_sales_report(self, req: GetSalesReport, ctx: CallContext) -> SalesReport:
        from .sales import sales_report

        return await sales_report(self.pctx.db, req.days)

    async def has_purchased(self, req: HasPurchased, ctx: CallContext) -> Purchased:
        found = await self.pctx.db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM orders_order o JOIN orders_order_item i ON i.order_id = o.id "
            # Paid and not wholly refunded: shipped and partly refunded orders still hold the goods.
            "WHERE o.user_id = $1 AND i.product_id = $2 AND o.status IN ('paid', 'fulfilled', 'partially_refunded'))",
            req.user_id, req.product_id)
        return Purchased(purchased=bool(found))

    # ---- fulfilment and admin operations (admin.py)

    async def list_all_orders(self, req: ListAllOrders, ctx: CallContext) -> OrderPage:
        return await self.admin.list_orders(req)

    async def admin_get_order(self, req: GetOrder, ctx: CallContext) -> Order:
        return await self.admin.get_order(req, ctx)

    async def fulfil_order(self, req: CreateFulfillment, ctx: CallContext) -> Order:
        return await self.admin.fulfil(req, ctx)

    async def refund_order(self, req: CreateRefund, ctx: CallContext) -> Order:
        return await self.admin.refund(req, ctx)

    async def list_customers(self, req: ListCustomers, ctx: CallContext) -> CustomerPage:
        return await self.admin.customers(req)

    # ---- guests (guest.py)

    async def get_guest_order(self, req: GetGuestOrder, ctx: CallContext) -> Order:
        order_id = await self.links.verify(req.token)
        order = await load_order(self.pctx.db, order_id, None)
        if not order.user_id.startswith("guest:"):
            raise link_invalid()
        return order

    async def sign_guest_link(self, req: SignGuestLink, ctx: CallContext) -> GuestLink:
        order = await load_order(self.pctx.db, req.order_id, None)
        if not order.user_id.startswith("guest:"):
            raise link_invalid()  # an account's order is followed in the account, never by a bearer link
        ttl = (self.pctx.config or OrdersConfig()).guest_link_ttl
        return GuestLink(token=await self.links.sign(order.id, ttl), expires_in=ttl)
