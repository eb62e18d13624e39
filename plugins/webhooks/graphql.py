"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path

from kernel.web.graphql import GraphQLPart, bus_field

from .contract import Webhooks

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def part() -> GraphQLPart:
    w = Webhooks
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.webhooks": bus_field(w.list_webhooks),
            "Query.webhookDeliveries": bus_field(w.list_deliveries),
            "Mutation.createWebhook": bus_field(w.create_webhook),
            "Mutation.setWebhookActive": bus_field(w.set_webhook_active),
            "Mutation.deleteWebhook": bus_field(w.delete_webhook),
            "Mutation.redeliverWebhook": bus_field(w.redeliver),
        },
    )
