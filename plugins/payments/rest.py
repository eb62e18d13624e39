"""REST adapters for payments (the kernel builds the handlers)."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Payments

TAGS = ("payments",)

ROUTES = [
    Route("POST", "/api/payments/{id}/confirm", Payments.confirm,
          summary="Confirm a payment with the token the provider's script made (safe to repeat)", tags=TAGS),
    Route("GET", "/api/payments/{id}", Payments.get, summary="One of the caller's payments", tags=TAGS),
]
