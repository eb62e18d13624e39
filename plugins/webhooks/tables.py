"""Piccolo tables mirroring migrations/webhooks (the migrations are the source of truth)."""

from __future__ import annotations

from piccolo.columns import UUID, Array, BigInt, Boolean, Bytea, ForeignKey, Integer, Text, Timestamptz
from piccolo.table import Table


class EndpointRow(Table, tablename="webhooks_endpoint"):
    id = UUID(primary_key=True)
    url = Text()
    events = Array(Text())
    secret = Text(secret=True)
    active = Boolean(default=True)
    failing_since = Timestamptz(null=True)
    disabled_at = Timestamptz(null=True)
    disabled_reason = Text(null=True)
    created_at = Timestamptz()
    deleted_at = Timestamptz(null=True)


class DeliveryRow(Table, tablename="webhooks_delivery"):
    id = UUID(primary_key=True)
    endpoint_id = ForeignKey(EndpointRow)
    event_id = Text()
    event_type = Text()
    body = Bytea()
    state = Text()
    attempts = Integer()
    next_attempt_at = Timestamptz()
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True)


class AttemptRow(Table, tablename="webhooks_attempt"):
    id = BigInt(primary_key=True)
    delivery_id = ForeignKey(DeliveryRow)
    attempted_at = Timestamptz()
    status_code = Integer(null=True)
    duration_ms = Integer()
    error = Text(null=True)
    response_excerpt = Text(null=True)
    manual = Boolean(default=False)


TABLES = (EndpointRow, DeliveryRow, AttemptRow)
