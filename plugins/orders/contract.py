"""What other plugins may import from orders: cart and order messages, the Orders service, events."""

from __future__ import annotations

import typing
from typing import Any, Literal

from kernel.core.events import Event
from kernel.core.messages import Timestamp, Uuid, constraint, message, page_field, page_size_field
from kernel.core.scopes import Scope
from kernel.core.service import Http, MethodGroup, Service, rpc
from plugins.catalog.contract import OPTIONS_GRAPHQL
from plugins.payments.contract import Ack, PaymentOutcome
from plugins.shipping.contract import Address, AddressInput, ShippingMethod
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
INT64_MAX_VALUE = 2**63 - 1
EMAIL = r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}"

OrderStatus = Literal["pending", "awaiting_payment", "paid", "cancelled", "refunded",
                      "fulfilled", "partially_refunded"]
PaymentMethod = Literal["wallet", "card"]
ORDER_STATUSES: tuple[str, ...] = typing.get_args(OrderStatus)
PAYMENT_METHODS: tuple[str, ...] = typing.get_args(PaymentMethod)


# ---- cart


@message
class CartLine:
    """A cart line, priced at the catalog's current price."""

    product_id: Uuid
    slug: str
    name: str
    qty: int
    unit_price_minor: int  # the catalog's current price, in the product's currency
    currency: str
    line_total_minor: int
    variant_id: str = ""
    sku: str = ""
    options: Any = constraint(default=None, graphql=OPTIONS_GRAPHQL)  # the variant's {name: value}


@message
class CartTotal:
    """The cart's total in one currency."""

    currency: str
    amount_minor: int


@message
class Cart:
    """The caller's cart; totals are per currency."""

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
class RemoveCartItem:
    product_id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class SetCartItem(RemoveCartItem):
    qty: int = constraint(min=0, max=MAX_QTY, doc="0 removes the line")


@message
class RemoveCartVariant:
    variant_id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class SetCartVariant(RemoveCartVariant):
    qty: int = constraint(min=0, max=MAX_QTY, doc="0 removes the line")


# ---- orders


@message
class OrderItem:
    """A bought line, at the price paid (in the order's currency)."""

    product_id: Uuid
    slug: str
    name: str
    qty: int
    unit_price_minor: int  # what was paid per unit, in the order's currency
    currency: str  # the order's currency
    line_total_minor: int
    original_unit_price_minor: int | None = constraint(
        default=None, doc="The catalog price when the product was priced in another currency.")
    original_currency: str | None = None
    variant_id: str = ""
    sku: str = ""
    options: Any = constraint(default=None, graphql=OPTIONS_GRAPHQL)  # the variant's {name: value} when bought


@message
class Fulfillment:
    """A shipment of an order."""

    id: Uuid
    carrier: str
    tracking_number: str
    created_at: Timestamp


@message
class Refund:
    """Money given back on an order, to its original payment method."""

    id: Uuid
    amount_minor: int
    currency: str
    reason: str
    created_at: Timestamp


@message
class OrderPayment:
    """The payment intent of a card order (confirm it with POST /api/payments/{id}/confirm)."""

    id: Uuid
    provider: str
    status: str  # the intent's status when the order was read
    client_secret: str | None = None  # only in the checkout answer


@message
class Order:
    """An order, in one currency. status: pending, awaiting_payment, paid, fulfilled, cancelled, refunded,
    partially_refunded. paymentMethod: wallet or card. totalMinor = subtotalMinor + shippingMinor + taxMinor."""

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
    payment: OrderPayment | None = constraint(
        default=None, doc="A card order's payment intent (confirm it with confirmPayment).")
    cancel_reason: str | None = constraint(default=None, doc="Why an unpaid order was cancelled, e.g. PAYMENT_EXPIRED.")
    # Fulfilment (docs/orders.md): totalMinor = subtotalMinor + shippingMinor + taxMinor.
    subtotal_minor: int = 0
    shipping_minor: int = 0
    tax_minor: int = 0
    refunded_minor: int = 0
    shipping_address: Address | None = None
    shipping_method: ShippingMethod | None = None
    email: str | None = None
    updated_at: Timestamp | None = None
    paid_at: Timestamp | None = None
    fulfillments: tuple[Fulfillment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    order_link: str | None = constraint(default=None, doc="A guest's signed link to the order (only in the checkout answer).")


@message
class OrderPage:
    """A page of orders, shaped like the REST page."""

    items: tuple[Order, ...]
    page: int
    page_size: int
    total: int


@message
class Checkout:
    """Pay by wallet (``walletCurrency``) or by card (``paymentMethod: "card"`` + ``currency``).

    ``card`` (raw card data, with ``currency``) is the demo-mode seed form only.
    """

    payment_method: PaymentMethod | None = constraint(
        default=None, doc='"card": the order awaits payment through a payment intent; "wallet": as walletCurrency')
    wallet_currency: str | None = constraint(default=None, pattern=CURRENCY)
    card: Card | None = None
    currency: str | None = constraint(default=None, pattern=CURRENCY, doc="the order currency for card payments")
    # Fulfilment (plugins/orders/fulfilment.py): required with [plugins.orders] shipping_required = true.
    shipping_address: AddressInput | None = None
    address_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX, doc="a saved address instead")
    shipping_method_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX)
    email: str | None = constraint(default=None, min_len=3, max_len=254, pattern=EMAIL, strip=True,
                                   doc="guests only: where the order confirmation and the order link go")


@message
class QuoteCheckout:
    """What checking out the cart would charge, with no side effects (the checkout page shows it before paying)."""

    currency: str = constraint(pattern=CURRENCY, doc="the order currency (the wallet's, or the card's)")
    shipping_address: AddressInput | None = None
    address_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX, doc="a saved address instead")
    shipping_method_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX)


@message
class CheckoutQuote:
    """The sums checkout would charge now (same arithmetic as checkout; prices may change before paying)."""

    currency: str
    subtotal_minor: int  # net of tax when the tax is included in prices
    shipping_minor: int  # net of tax when the tax is included in prices
    tax_minor: int
    total_minor: int  # subtotal + shipping + tax: what will be charged
    tax_rate: str  # percent, exact decimal ("0" without a rate)
    tax_inclusive: bool  # the country's prices include tax (show "incl. tax")
    shipping_method: ShippingMethod | None = None


@message
class ListOrders:
    page: int = page_field()
    page_size: int = page_size_field()


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


# ---- fulfilment and admin operations (scope orders:manage; admin implies it)


@message
class ListAllOrders:
    """Newest-updated first (updatedAt desc, id desc): poll with updatedSince for an incremental sync."""

    page: int = page_field()
    page_size: int = page_size_field()
    status: OrderStatus | None = None
    email: str | None = constraint(default=None, min_len=1, max_len=254, strip=True, doc="exact, case-insensitive")
    updated_since: Timestamp | None = constraint(default=None, doc="RFC 3339; orders updated at or after it")
    user_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX)


@message
class CreateFulfillment:
    id: str = constraint(min_len=1, max_len=ID_MAX)
    carrier: str = constraint(min_len=1, max_len=100, strip=True)
    tracking_number: str = constraint(min_len=1, max_len=100, strip=True, pattern=r"[A-Za-z0-9 ._/-]+")


@message
class CreateRefund:
    id: str = constraint(min_len=1, max_len=ID_MAX)
    amount_minor: int = constraint(min=1, max=INT64_MAX_VALUE)
    reason: str = constraint(default="", max_len=500, strip=True)


@message
class ListCustomers:
    page: int = page_field()
    page_size: int = page_size_field()


@message
class CustomerTotal:
    """A customer's paid total in one currency, net of refunds."""

    currency: str
    amount_minor: int  # paid, net of refunds


@message
class Customer:
    """A customer (a user or a guest) with at least one paid order."""

    user_id: str
    email: str | None
    order_count: int  # orders that were paid (whatever happened after)
    totals: tuple[CustomerTotal, ...]
    last_order_at: Timestamp


@message
class CustomerPage:
    """A page of customers."""

    items: tuple[Customer, ...]
    page: int
    page_size: int
    total: int


@message
class GetGuestOrder:
    token: str = constraint(min_len=1, max_len=300, pattern=r"[A-Za-z0-9_.-]+")


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


@message
class SignGuestLink:
    """Internal (the mail plugin): a fresh signed link to a guest's order, for its confirmation mail."""

    order_id: str = constraint(min_len=1, max_len=64)


@message
class GuestLink:
    token: str  # GET /api/guest-orders/{token}
    expires_in: int  # seconds


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
ADMIN = MethodGroup(scope="orders:manage", tags=("orders-admin",))  # fulfilment and admin
CART_TAGS = ("cart",)
# The customer's cart writes: one scope, a user principal, the write rate class.
CART = MethodGroup(scope="cart:write", user=True, rate_limit="write", tags=CART_TAGS)
TAGS = ("orders",)


class Orders(Service, package="shop.orders.v1"):
    get_cart = rpc(GetCart, Cart, graphql="Query.cart", scope="cart:write", user=True,
                   rest=Http("GET /api/cart", "The caller's cart, priced now", tags=CART_TAGS))
    add_to_cart = CART.rpc(AddToCart, Cart, "Mutation.addToCart", "POST /api/cart/items",
                           "Add a quantity of a product (variantId required when it has several variants)")
    set_cart_item = CART.rpc(SetCartItem, Cart, "Mutation.setCartItem", "PUT /api/cart/items/{productId}",
                             "Set a single-variant product's line quantity (0 removes it)")
    remove_cart_item = CART.rpc(RemoveCartItem, Cart, "Mutation.removeCartItem", "DELETE /api/cart/items/{productId}",
                                "Remove every line of a product")
    set_cart_variant = CART.rpc(SetCartVariant, Cart, "Mutation.setCartVariant", "PUT /api/cart/variants/{variantId}",
                                "Set the quantity of a variant's line (0 removes it)")
    remove_cart_variant = CART.rpc(RemoveCartVariant, Cart, "Mutation.removeCartVariant", "DELETE /api/cart/variants/{variantId}",
                                   "Remove a variant's line")
    checkout = rpc(Checkout, Order, graphql=("Mutation.checkout", "Mutation.checkoutWithCard", "Mutation.checkoutByCard"),
                   scope="orders:write", user=True, rate_limit="write", idempotent=True,
                   rest=Http("POST /api/orders/checkout", status=201, tags=TAGS,
                             summary="Buy the cart, paying by wallet or card (Idempotency-Key honoured)"))
    # POST /api/orders/checkout/quote, GraphQL checkoutQuote: checkout's sums, nothing moved.
    quote_checkout = rpc(QuoteCheckout, CheckoutQuote, graphql="Query.checkoutQuote", scope="cart:write", user=True,
                         rate_limit="read",
                         rest=Http("POST /api/orders/checkout/quote", tags=TAGS,
                                   summary="What checking out the cart would charge (subtotal, shipping, tax, "
                                           "total); nothing moves"))
    list_orders = rpc(ListOrders, OrderPage, graphql="Query.orders", scope="orders:read", user=True,
                      rest=Http("GET /api/orders", "The caller's orders, newest first", tags=TAGS))
    get_order = rpc(GetOrder, Order, graphql="Query.order", graphql_null_if_not_found=True, scope="orders:read", user=True,
                    rest=Http("GET /api/orders/{id}", "One of the caller's orders", tags=TAGS))
    cancel_order = rpc(CancelOrder, Order, graphql="Mutation.cancelOrder", scope="orders:write", user=True, rate_limit="write",
                       idempotent=True,
                       rest=Http("POST /api/orders/{id}/cancel", tags=TAGS,
                                 summary="Cancel a paid order: refund and restock (Idempotency-Key honoured)"))
    # Fulfilment and admin operations (plugins/orders/admin.py, lifecycle.py); admin implies orders:manage.
    list_all_orders = ADMIN.rpc(ListAllOrders, OrderPage, ("Query.allOrders", "Query.adminOrders"), "GET /api/admin/orders",
                                "Every order, newest-updated first (filter by status, email, updatedSince)")
    admin_get_order = ADMIN.rpc(GetOrder, Order, "Query.adminOrder", "GET /api/admin/orders/{id}",
                                "Any order, with the customer's email", graphql_null_if_not_found=True)
    fulfil_order = ADMIN.rpc(CreateFulfillment, Order, "Mutation.fulfilOrder", "POST /api/admin/orders/{id}/fulfillments",
                             "Record a shipment (carrier, tracking number): the order is fulfilled", status=201, idempotent=True)
    refund_order = ADMIN.rpc(CreateRefund, Order, "Mutation.refundOrder", "POST /api/admin/orders/{id}/refunds",
                             "Refund part or all of what was paid, to the original payment method (Idempotency-Key honoured)",
                             status=201, idempotent=True)
    list_customers = ADMIN.rpc(ListCustomers, CustomerPage, "Query.customers", "GET /api/admin/customers",
                               "Customers with their order counts and totals")
    # A guest's order through the signed link of its confirmation (plugins/orders/guest.py).
    get_guest_order = rpc(GetGuestOrder, Order, graphql="Query.guestOrder", graphql_null_if_not_found=True, rate_limit="read",
                          rest=Http("GET /api/guest-orders/{token}", tags=TAGS,
                                    summary="A guest's order, through the signed link given at checkout"))
    # GET /api/admin/sales, GraphQL salesReport: the admin dashboard's chart.
    get_sales_report = ADMIN.rpc(GetSalesReport, SalesReport, "Query.salesReport", "GET /api/admin/sales",
                                 "Orders and revenue per day of the last `days` (default 30), one series per currency")
    # For other plugins (e.g. reviews by buyers only); never exposed over HTTP.
    has_purchased = rpc(HasPurchased, Purchased, internal=True)
    # Told by payments when an order's intent is paid, expires or is cancelled.
    payment_outcome = rpc(PaymentOutcome, Ack, internal=True)
    sign_guest_link = rpc(SignGuestLink, GuestLink, internal=True)


# ---- events (written to the outbox inside the transaction, delivered after commit, in order per order)


@message
class OrderEvent(Event, aggregate="order_id"):
    """What every order event starts with (no topic of its own: never published as such)."""

    order_id: str
    user_id: str


@message
class OrderTotalEvent(OrderEvent):
    """An order event that carries the order's total."""

    total_minor: int
    currency: str


@message
class OrderCreated(OrderTotalEvent, topic="orders.order_created"):
    """An order created unpaid (a card order awaiting its payment): webhook order.created.

    An order paid as it is created (wallet) announces itself with OrderPlaced alone."""

    order: Order | None = None


@message
class OrderPlaced(OrderTotalEvent, topic="orders.order_placed"):
    """A paid order: webhooks order.paid (and order.created unless OrderCreated said it), the confirmation mail."""

    payment_method: str
    product_ids: tuple[str, ...]
    order: Order | None = None  # the order as GET /api/orders/{id} shows it, when the event was published
    created_announced: bool = False  # an OrderCreated was published when the (unpaid) order was created


@message
class OrderCancelled(OrderTotalEvent, topic="orders.order_cancelled"):
    """A cancelled order: webhook order.cancelled, and order.refunded when it was paid (its money sent back).
    An unpaid order that expires or is cancelled is ``status = "cancelled"`` with nothing refunded."""

    product_ids: tuple[str, ...]
    order: Order | None = None


@message
class OrderFulfilled(OrderEvent, topic="orders.order_fulfilled"):
    """A parcel left (an order may ship in several): webhook order.fulfilled, the shipping notice mail."""

    fulfillment_id: str
    carrier: str
    tracking_number: str
    order: Order | None = None


@message
class OrderRefunded(OrderEvent, topic="orders.order_refunded"):
    """An admin refund (part or all of what was paid) sent to the original payment method: webhook order.refunded."""

    refund_id: str
    amount_minor: int
    currency: str
    order: Order | None = None
