"""What other plugins may import from webhooks: messages and the Webhooks service (admin only)."""

from __future__ import annotations

from kernel.core.messages import constraint, message
from kernel.core.service import MethodGroup, Service

# The event catalogue (docs/webhooks.md); plugins/webhooks/fanout.py maps domain events onto it.
EVENT_TYPES = (
    "order.created", "order.paid", "order.fulfilled", "order.cancelled", "order.refunded",
    "product.created", "product.updated", "product.deleted", "stock.low",
)
ID_MAX = 64


@message
class WebhookEndpoint:
    """A webhook endpoint: a URL subscribed to event types. Its secret is only shown at creation."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: str  # ISO 8601, UTC
    disabled_at: str | None = None
    disabled_reason: str | None = None


@message
class CreatedWebhook:
    """The new endpoint with its signing secret: the only time the secret is shown."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool
    secret: str  # whsec_<base64>: Standard Webhooks signing secret
    created_at: str


@message
class CreateWebhook:
    url: str = constraint(min_len=8, max_len=2048, strip=True,
                          doc="https URL of a public host (http and private hosts only when allowed)")
    events: tuple[str, ...] = constraint(doc="event types, e.g. order.created; at least one")


@message
class ListWebhooks:
    pass


@message
class WebhookById:
    id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class SetWebhookActive(WebhookById):
    active: bool = constraint(doc="false pauses deliveries; true resumes them (also after an automatic disable)")


@message
class WebhookDeleted:
    id: str
    deleted: bool


@message
class WebhookAttempt:
    """One try at delivering a webhook."""

    attempted_at: str
    status_code: int | None  # None: no HTTP response (refused, timeout, connection error)
    duration_ms: int
    error: str | None
    response_excerpt: str | None
    manual: bool


@message
class WebhookDelivery:
    """One message to one endpoint; state: pending, succeeded or failed."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    state: str  # pending | succeeded | failed
    attempt_count: int
    created_at: str
    next_attempt_at: str | None
    attempts: tuple[WebhookAttempt, ...]  # newest first, at most 20


@message
class ListDeliveries:
    id: str = constraint(min_len=1, max_len=ID_MAX)
    limit: int = constraint(default=50, min=1, max=200)


@message
class Redeliver:
    id: str = constraint(min_len=1, max_len=ID_MAX)
    delivery_id: str = constraint(min_len=1, max_len=ID_MAX)


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
ADMIN = MethodGroup(scope="admin", tags=("webhooks",))  # every webhook method is an admin's


class Webhooks(Service, package="shop.webhooks.v1"):
    create_webhook = ADMIN.rpc(CreateWebhook, CreatedWebhook, "Mutation.createWebhook", "POST /api/admin/webhooks",
                               "Subscribe a URL to event types (the signing secret is shown once)", status=201)
    list_webhooks = ADMIN.rpc(ListWebhooks, tuple[WebhookEndpoint, ...], "Query.webhooks", "GET /api/admin/webhooks",
                              "Webhook endpoints")
    set_webhook_active = ADMIN.rpc(SetWebhookActive, WebhookEndpoint, "Mutation.setWebhookActive",
                                   "PATCH /api/admin/webhooks/{id}",
                                   "Pause (active false) or resume (active true) an endpoint; resuming clears an automatic "
                                   "disable")
    delete_webhook = ADMIN.rpc(WebhookById, WebhookDeleted, "Mutation.deleteWebhook", "DELETE /api/admin/webhooks/{id}",
                               "Delete a webhook endpoint (nothing more is sent to it)")
    list_deliveries = ADMIN.rpc(ListDeliveries, tuple[WebhookDelivery, ...], "Query.webhookDeliveries",
                                "GET /api/admin/webhooks/{id}/deliveries",
                                "Recent deliveries to an endpoint, with each attempt's status, duration and response")
    redeliver = ADMIN.rpc(Redeliver, WebhookDelivery, "Mutation.redeliverWebhook",
                          "POST /api/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver",
                          "Send a delivery again now (same webhook-id, new timestamp and signature)")
