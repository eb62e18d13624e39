"""REST adapters over the Webhooks bus methods (paths fixed by the spec)."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Webhooks

TAGS = ("webhooks",)


def routes() -> list[Route]:
    w = Webhooks
    return [
        Route("POST", "/api/admin/webhooks", w.create_webhook, status=201, tags=TAGS,
              summary="Subscribe a URL to event types (the signing secret is shown once)"),
        Route("GET", "/api/admin/webhooks", w.list_webhooks, tags=TAGS, summary="Webhook endpoints"),
        Route("PATCH", "/api/admin/webhooks/{id}", w.set_webhook_active, tags=TAGS,
              summary="Pause (active false) or resume (active true) an endpoint; resuming clears an automatic disable"),
        Route("DELETE", "/api/admin/webhooks/{id}", w.delete_webhook, tags=TAGS,
              summary="Delete a webhook endpoint (nothing more is sent to it)"),
        Route("GET", "/api/admin/webhooks/{id}/deliveries", w.list_deliveries, tags=TAGS,
              summary="Recent deliveries to an endpoint, with each attempt's status, duration and response"),
        Route("POST", "/api/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver", w.redeliver, tags=TAGS,
              summary="Send a delivery again now (same webhook-id, new timestamp and signature)"),
    ]
