"""REST adapters for orders: each route names a bus method; the kernel builds the handler."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Orders

TAGS = ("orders",)
ADMIN = ("orders-admin",)


def routes() -> list[Route]:
    return [
        Route("GET", "/api/cart", Orders.get_cart, summary="The caller's cart, priced now", tags=("cart",)),
        Route("POST", "/api/cart/items", Orders.add_to_cart,
              summary="Add a quantity of a product (variantId required when it has several variants)", tags=("cart",)),
        Route("PUT", "/api/cart/items/{productId}", Orders.set_cart_item,
              summary="Set a single-variant product's line quantity (0 removes it)", tags=("cart",)),
        Route("DELETE", "/api/cart/items/{productId}", Orders.remove_cart_item,
              summary="Remove every line of a product",
              tags=("cart",)),
        Route("PUT", "/api/cart/variants/{variantId}", Orders.set_cart_variant,
              summary="Set the quantity of a variant's line (0 removes it)", tags=("cart",)),
        Route("DELETE", "/api/cart/variants/{variantId}", Orders.remove_cart_variant,
              summary="Remove a variant's line", tags=("cart",)),
        Route("POST", "/api/orders/checkout", Orders.checkout, status=201,
              summary="Buy the cart, paying by wallet or card (Idempotency-Key honoured)", tags=TAGS),
        Route("POST", "/api/orders/checkout/quote", Orders.quote_checkout, tags=TAGS,
              summary="What checking out the cart would charge (subtotal, shipping, tax, total); nothing moves"),
        Route("GET", "/api/orders", Orders.list_orders, summary="The caller's orders, newest first", tags=TAGS),
        Route("GET", "/api/orders/{id}", Orders.get_order, summary="One of the caller's orders", tags=TAGS),
        Route("POST", "/api/orders/{id}/cancel", Orders.cancel_order,
              summary="Cancel a paid order: refund and restock (Idempotency-Key honoured)", tags=TAGS),
        # Fulfilment and admin operations (scope orders:manage; admin implies it).
        Route("GET", "/api/admin/orders", Orders.list_all_orders,
              summary="Every order, newest-updated first (filter by status, email, updatedSince)", tags=ADMIN),
        Route("GET", "/api/admin/orders/{id}", Orders.admin_get_order, summary="Any order, with the customer's email",
              tags=ADMIN),
        Route("POST", "/api/admin/orders/{id}/fulfillments", Orders.fulfil_order, status=201,
              summary="Record a shipment (carrier, tracking number): the order is fulfilled", tags=ADMIN),
        Route("POST", "/api/admin/orders/{id}/refunds", Orders.refund_order, status=201,
              summary="Refund part or all of what was paid, to the original payment method (Idempotency-Key "
                      "honoured)", tags=ADMIN),
        Route("GET", "/api/guest-orders/{token}", Orders.get_guest_order,
              summary="A guest's order, through the signed link given at checkout", tags=TAGS),
        Route("GET", "/api/admin/customers", Orders.list_customers,
              summary="Customers with their order counts and totals", tags=ADMIN),
        Route("GET", "/api/admin/sales", Orders.get_sales_report, tags=ADMIN,
              summary="Orders and revenue per day of the last `days` (default 30), one series per currency"),
    ]
