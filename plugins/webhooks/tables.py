"""Piccolo tables mirroring migrations/webhooks (the migrations are the source of truth)."""

from __future__ import annotations

from piccolo.columns import UUID, Array, BigSerial, Boolean, Bytea, ForeignKey, Integer, Text, Timestamptz
from piccolo.table import Table


class EndpointRow(Table, tablename="webhooks_endpoint"):
    id = UUID(primary_key=True)
    url = Text()
    events = Array(Text())
    secret = Text(secret=True)
    active = Boolean(default=True)
    failing_since = Timestamptz(null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)
    disabled_reason = Text(null=True, default=None)
    created_at = Timestamptz()
    deleted_at = Timestamptz(null=True, default=None)


class DeliveryRow(Table, tablename="webhooks_delivery"):
    id = UUID(primary_key=True)
    endpoint_id = ForeignKey(EndpointRow, null=False)
    event_id = Text()
    event_type = Text()
    body = Bytea()
    state = Text(default="pending")
    attempts = Integer()
    next_attempt_at = Timestamptz()
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class AttemptRow(Table, tablename="webhooks_attempt"):
    id = BigSerial(primary_key=True)
    delivery_id = ForeignKey(DeliveryRow, null=False)
    attempted_at = Timestamptz()
    status_code = Integer(null=True, default=None)
    duration_ms = Integer()
    error = Text(null=True, default=None)
    response_excerpt = Text(null=True, default=None)
    manual = Boolean(default=False)


TABLES = (EndpointRow, DeliveryRow, AttemptRow)
