"""What other plugins may import from payments: intents, the provider protocol, outcomes.

A payment intent is money a customer has agreed to pay for something another
plugin sells (an order, a wallet top-up). The owner creates it (``create_intent``)
naming one of its own internal methods as ``notify``: payments calls that method,
inside the transaction that records the outcome, when the intent is paid
(authorized), expires, or is cancelled. See docs/payments.md.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kernel.core.messages import Timestamp, Uuid, constraint, message
from kernel.core.scopes import Scope
from kernel.core.service import Http, Service, rpc

SCOPES = (Scope("payments:write", "Confirm your card payments"),)

CURRENCY = r"[A-Z]{3}"
IntentStatus = Literal["requires_payment_method", "processing", "requires_action", "requires_capture",
                       "succeeded", "canceled"]
INTENT_STATUSES: tuple[str, ...] = typing.get_args(IntentStatus)
Outcome = Literal["paid", "expired", "canceled"]
ProviderStatus = Literal["authorized", "captured", "requires_action", "declined", "failed"]


# ---- the provider protocol (plugins add providers through the shop_payment_providers hook)


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """What a provider answers to ``authorize``.

    ``status``: ``authorized`` (money held, capture later), ``captured`` (money taken),
    ``requires_action`` (the customer must do ``next_action`` first, e.g. 3-D Secure, then
    confirm again), ``declined`` (the card said no) or ``failed`` (try again later).
    """

    status: ProviderStatus
    provider_ref: str = ""
    brand: str = ""
    last4: str = ""
    next_action: Mapping[str, Any] | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A provider's verified notification: the intent it concerns and what happened."""

    intent_id: str
    type: Literal["authorized", "captured", "declined"]
    provider_ref: str = ""
    brand: str = ""
    last4: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


class WebhookRejected(Exception):
    """Raised by ``verify_webhook`` for a bad or missing signature (answered 401)."""


class PaymentProvider(Protocol):
    name: str

    async def authorize(self, *, token: str, intent_id: str, amount_minor: int, currency: str,
                        capture: bool) -> ProviderResult:
        """Authorize (and capture when ``capture``) the payment the client-side ``token`` stands for.

        Called again with the same token after a ``requires_action``; must be idempotent per token.
        """
        ...

    async def capture(self, *, provider_ref: str, amount_minor: int, currency: str) -> None: ...

    async def void(self, *, provider_ref: str) -> None:
        """Release an authorization that will not be captured."""
        ...

    async def refund(self, *, provider_ref: str, amount_minor: int, currency: str, reference: str) -> str:
        """Refund part or all of a captured payment; returns the provider's refund reference."""
        ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The event a signed webhook body carries, or raise WebhookRejected."""
        ...


# ---- messages


@message
class PaymentNextAction:
    """What the customer must do before confirming again (e.g. a 3-D Secure page): GraphQL's shape of
    ``PaymentIntent.nextAction``."""

    type: str
    url: str | None = None


@message
class PaymentIntent:
    """A payment intent: what the customer agreed to pay and how far it got."""

    id: Uuid
    provider: str
    status: IntentStatus
    amount_minor: int
    currency: str
    purpose: str  # "order", "topup", ...
    reference: str  # the owner's id for what is paid (an order id, ...)
    client_secret: str | None = constraint(default=None, doc="Only in the answer that created the intent.")
    next_action: Any = constraint(  # e.g. {"type": "redirect", "url": "..."} while requires_action
        default=None, graphql=PaymentNextAction | None,
        doc="While status is requires_action: what the customer must do (e.g. {type: redirect, url}).")
    last_error: str | None = None  # e.g. CARD_DECLINED after a declined attempt
    brand: str | None = None
    last4: str | None = None
    captured_minor: int = 0
    refunded_minor: int = 0
    expires_at: Timestamp | None = None


@message
class CreateIntent:
    """Internal: the owner plugin creates an intent inside its own transaction."""

    user_id: str = constraint(min_len=1, max_len=200)
    purpose: str = constraint(min_len=1, max_len=40)
    reference: str = constraint(min_len=1, max_len=200)
    amount_minor: int = constraint(min=1)
    currency: str = constraint(pattern=CURRENCY)
    notify: str = constraint(min_len=1, max_len=200, doc="full name of the owner's internal method for outcomes")
    timeout_s: int | None = constraint(default=None, min=10, max=86_400,
                                       doc="a shorter hold than payment_timeout_s (e.g. guests); never longer")


@message
class ConfirmPayment:
    id: str = constraint(min_len=1, max_len=64)
    payment_token: str = constraint(min_len=1, max_len=200, doc="made by the provider's client-side script")


@message
class GetPayment:
    id: str = constraint(min_len=1, max_len=64)


@message
class CancelIntent(GetPayment):
    """Internal: the owner gives up (e.g. the order is cancelled): void or refund, no notify."""


@message
class CaptureIntent(GetPayment):
    """Internal: take the money of an authorised intent."""


@message
class RefundPayment:
    id: str = constraint(min_len=1, max_len=64)
    amount_minor: int = constraint(min=1)
    reference: str = constraint(min_len=1, max_len=200, doc="the same reference refunds once")


@message
class PaymentRefund:
    id: Uuid
    intent_id: Uuid
    amount_minor: int
    provider_ref: str


@message
class ProviderWebhook:
    """Internal: a provider plugin's web route hands over a raw webhook for verification."""

    provider: str
    body: str  # the raw body, decoded as UTF-8 (what the provider signed)
    headers: Any  # {name: value}, lower-case names


@message
class PayNow:
    """Internal, demo only: tokenize a raw card with a provider that can, then confirm (seed compatibility)."""

    id: str
    card: Any  # plugins.wallet.contract.Card


@message
class PaymentOutcome:
    """What payments tells an intent's owner (through the ``notify`` method named at creation)."""

    intent_id: str
    purpose: str
    reference: str
    user_id: str
    outcome: Outcome
    amount_minor: int
    currency: str
    provider: str
    brand: str | None = None
    last4: str | None = None


@message
class Ack:
    ok: bool = True


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
TAGS = ("payments",)


class Payments(Service, package="shop.payments.v1"):
    confirm = rpc(ConfirmPayment, PaymentIntent, graphql="Mutation.confirmPayment", scope="payments:write", user=True,
                  rate_limit="money",
                  rest=Http("POST /api/payments/{id}/confirm", tags=TAGS,
                            summary="Confirm a payment with the token the provider's script made (safe to repeat)"))
    get = rpc(GetPayment, PaymentIntent, graphql="Query.payment", graphql_null_if_not_found=True, scope="payments:write",
              user=True,
              rest=Http("GET /api/payments/{id}", "One of the caller's payments", tags=TAGS))
    # Internal: for the plugins that sell (orders, wallet).
    create_intent = rpc(CreateIntent, PaymentIntent, internal=True)
    cancel_intent = rpc(CancelIntent, PaymentIntent, internal=True)
    capture = rpc(CaptureIntent, PaymentIntent, internal=True)
    refund = rpc(RefundPayment, PaymentRefund, internal=True)
    pay_now = rpc(PayNow, PaymentIntent, internal=True)
    # Internal: for provider plugins' webhook routes.
    provider_webhook = rpc(ProviderWebhook, PaymentIntent, internal=True)
