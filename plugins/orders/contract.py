"""What other plugins may import from orders: cart and order messages, the Orders service, events."""

from __future__ import annotations

import typing
from typing import Any, Literal

from kernel.events import Event
from kernel.messages import Timestamp, Uuid, constraint, message
from kernel.scopes import Scope
from kernel.service import Service, rpc
from plugins.wallet.contract import Card

# The scopes this plugin enforces (docs/plugins.md, "Scopes"); the consent screen shows the descriptions.
SCOPES = (
    Scope("cart:write", "See and change your cart"),
    Scope("orders:read", "See your orders"),
    Scope("orders:write", "Place orders paid from your wallet, and cancel them"),
    Scope("orders:manage", "See and manage every customer's orders", implied_by=("admin",)),
)

CURRENCY = r"[A-Z]{3}"
ID_MAX = 64  # ids are opaque strings (UUIDs here); longer input is refused before any lookup
MAX_QTY = 999

OrderStatus = Literal["pending", "paid", "cancelled", "refunded"]
PaymentMethod = Literal["wallet", "card"]
ORDER_STATUSES: tuple[str, ...] = typing.get_args(OrderStatus)
PAYMENT_METHODS: tuple[str, ...] = typing.get_args(PaymentMethod)


# ---- cart


@message
class CartLine:
    product_id: Uuid
    slug: str
    name: str
    qty: int
    unit_price_minor: int  # the catalog's current price, in the product's currency
    currency: str
    line_total_minor: int
    variant_id: str = ""
    sku: str = ""
    options: Any = None  # the variant's {name: value}


@message
class CartTotal:
    currency: str
    amount_minor: int


@message
class Cart:
    id: Uuid
    items: tuple[CartLine, ...]
    totals: tuple[CartTotal, ...]  # one per currency present in the cart, sorted by currency


@message
class GetCart:
    pass


@message
class AddToCart:
    product_id: str = constraint(min_len=1, max_len=ID_MAX)
    qty: int = constraint(min=1, max=MAX_QTY, doc="added to the quantity already in the cart (sum at most 999)")
    variant_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX,
                                        doc="required when the product has more than one variant")


@message
class SetCartItem:
    product_id: str = constraint(min_len=1, max_len=ID_MAX)
    qty: int = constraint(min=0, max=MAX_QTY, doc="0 removes the line")


@message
class RemoveCartItem:
    product_id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class SetCartVariant:
    variant_id: str = constraint(min_len=1, max_len=ID_MAX)
    qty: int = constraint(min=0, max=MAX_QTY, doc="0 removes the line")


@message
class RemoveCartVariant:
    variant_id: str = constraint(min_len=1, max_len=ID_MAX)


# ---- orders


@message
class OrderItem:
    product_id: Uuid
    slug: str
    name: str
    qty: int
    unit_price_minor: int  # what was paid per unit, in the order's currency
    currency: str  # the order's currency
    line_total_minor: int
    original_unit_price_minor: int | None = None  # the catalog price when it was in another currency
    original_currency: str | None = None
    variant_id: str = ""
    sku: str = ""
    options: Any = None  # the variant's {name: value} when bought


@message
class Order:
    id: Uuid
    status: OrderStatus
    total_minor: int
    currency: str
    payment_method: PaymentMethod
    items: tuple[OrderItem, ...]
    created_at: Timestamp
    user_id: str
    card_brand: str | None = None
    card_last4: str | None = None
    cancelled_at: Timestamp | None = None


@message
class OrderPage:
    items: tuple[Order, ...]
    page: int
    page_size: int
    total: int


@message
class Checkout:
    """Pay by wallet (``walletCurrency``) or by card (``card`` + ``currency``): exactly one of the two."""

    wallet_currency: str | None = constraint(default=None, pattern=CURRENCY)
    card: Card | None = None
    currency: str | None = constraint(default=None, pattern=CURRENCY, doc="the order currency for card payments")


@message
class ListOrders:
    page: int = constraint(default=1, min=1, max=100_000)
    page_size: int = constraint(default=20, min=1, max=100)


@message
class ListAllOrders:
    page: int = constraint(default=1, min=1, max=100_000)
    page_size: int = constraint(default=20, min=1, max=100)
    status: OrderStatus | None = None
    user_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX)


@message
class GetOrder:
    id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class CancelOrder:
    id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class HasPurchased:
    user_id: str = constraint(min_len=1, max_len=200)
    product_id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class Purchased:
    purchased: bool  # the user holds a paid (not cancelled, not refunded) order with the product


@message
class GetSalesReport:
    days: int = constraint(default=30, min=1, max=366, doc="the last N days (UTC), today included")


@message
class SalesDay:
    date: str  # YYYY-MM-DD (UTC)
    orders: int
    revenue_minor: int


@message
class SalesSeries:
    """One currency's sales: money in different currencies is never added up."""

    currency: str
    orders: int
    revenue_minor: int
    days: tuple[SalesDay, ...]  # every day of the period, oldest first, zero when nothing sold


@message
class SalesReport:
    days: int
    since: str
    currencies: tuple[SalesSeries, ...]


class Orders(Service, package="shop.orders.v1"):
    get_cart = rpc(GetCart, Cart, scope="cart:write", user=True)
    add_to_cart = rpc(AddToCart, Cart, scope="cart:write", user=True, rate_limit="write", write=True)
    set_cart_item = rpc(SetCartItem, Cart, scope="cart:write", user=True, rate_limit="write", write=True)
    remove_cart_item = rpc(RemoveCartItem, Cart, scope="cart:write", user=True, rate_limit="write", write=True)
    set_cart_variant = rpc(SetCartVariant, Cart, scope="cart:write", user=True, rate_limit="write", write=True)
    remove_cart_variant = rpc(RemoveCartVariant, Cart, scope="cart:write", user=True, rate_limit="write",
                              write=True)
    checkout = rpc(Checkout, Order, scope="orders:write", user=True, rate_limit="write", idempotent=True)
    list_orders = rpc(ListOrders, OrderPage, scope="orders:read", user=True)
    get_order = rpc(GetOrder, Order, scope="orders:read", user=True)
    cancel_order = rpc(CancelOrder, Order, scope="orders:write", user=True, rate_limit="write", idempotent=True)
    list_all_orders = rpc(ListAllOrders, OrderPage, scope="admin")
    # GET /api/admin/sales, GraphQL salesReport: the admin dashboard's chart.
    get_sales_report = rpc(GetSalesReport, SalesReport, scope="admin")
    # For other plugins (e.g. reviews by buyers only); never exposed over HTTP.
    has_purchased = rpc(HasPurchased, Purchased, internal=True)


# ---- events (written to the outbox inside the transaction, delivered after commit, in order per order)


@message
class OrderPlaced(Event, topic="orders.order_placed", aggregate="order_id"):
    """A paid order: webhooks order.created + order.paid, the confirmation mail."""

    order_id: str
    user_id: str
    total_minor: int
    currency: str
    payment_method: str
    product_ids: tuple[str, ...]
    order: Order | None = None  # the order as GET /api/orders/{id} shows it, when the event was published


@message
class OrderCancelled(Event, topic="orders.order_cancelled", aggregate="order_id"):
    """A cancelled order, its money sent back: webhooks order.cancelled + order.refunded."""

    order_id: str
    user_id: str
    total_minor: int
    currency: str
    product_ids: tuple[str, ...]
    order: Order | None = None
