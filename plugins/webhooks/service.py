"""The Webhooks servicer: endpoints (admin), their deliveries, manual redelivery."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, invalid, not_found

from .config import WebhooksConfig
from .contract import (
    EVENT_TYPES,
    CreatedWebhook,
    CreateWebhook,
    ListDeliveries,
    ListWebhooks,
    Redeliver,
    SetWebhookActive,
    WebhookAttempt,
    WebhookById,
    WebhookDeleted,
    WebhookDelivery,
    WebhookEndpoint,
)
from .delivery import DeliveryWorker
from .ssrf import TargetRefused, check_resolves_public, check_url

MAX_ENDPOINTS = 100
ISO = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
_ENDPOINT_COLS = (f"id::text AS id, url, events, active, {ISO.format('created_at')} AS created_at, "
                  f"{ISO.format('disabled_at')} AS disabled_at, disabled_reason")


def _require_admin(ctx: CallContext) -> None:
    p = ctx.principal
    if p.kind == "user" and "admin" not in p.roles:
        raise BusError(Status.PERMISSION_DENIED, "This needs the admin role.", reason="NOT_ADMIN")


def _uuid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise not_found(what) from None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _endpoint(r: Any) -> WebhookEndpoint:
    return WebhookEndpoint(id=r["id"], url=r["url"], events=tuple(r["events"]), active=r["active"],
                           created_at=r["created_at"], disabled_at=r["disabled_at"],
                           disabled_reason=r["disabled_reason"])


class WebhooksServicer:
    def __init__(self, ctx: Any, cfg: WebhooksConfig, worker: DeliveryWorker) -> None:
        self.db = ctx.db
        self.cfg = cfg
        self.worker = worker

    async def create_webhook(self, req: CreateWebhook, ctx: CallContext) -> CreatedWebhook:
        _require_admin(ctx)
        events = tuple(dict.fromkeys(req.events))
        if not events:
            raise invalid("events", "name at least one event type")
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise invalid("events", f"unknown event type {unknown[0][:60]!r}; known: {', '.join(EVENT_TYPES)}")
        try:
            host, port = check_url(req.url, self.cfg.allow_private_targets)
            await check_resolves_public(host, port, self.cfg.allow_private_targets)
        except TargetRefused as exc:
            raise invalid("url", str(exc)) from None
        count = await self.db.fetchval("SELECT count(*) FROM webhooks_endpoint WHERE deleted_at IS NULL")
        if count >= MAX_ENDPOINTS:
            raise BusError(Status.RESOURCE_EXHAUSTED, f"At most {MAX_ENDPOINTS} webhook endpoints.",
                           reason="TOO_MANY_WEBHOOKS")
        secret = new_secret()
        r = await self.db.fetchrow(
            f"INSERT INTO webhooks_endpoint (url, events, secret) VALUES ($1, $2, $3) RETURNING {_ENDPOINT_COLS}",
            req.url, list(events), secret)
        e = _endpoint(r)
        return CreatedWebhook(id=e.id, url=e.url, events=e.events, active=e.active, secret=secret,
                              created_at=e.created_at)

    async def list_webhooks(self, req: ListWebhooks, ctx: CallContext) -> tuple[WebhookEndpoint, ...]:
        _require_admin(ctx)
        rows = await self.db.fetch(f"SELECT {_ENDPOINT_COLS} FROM webhooks_endpoint WHERE deleted_at IS NULL "
                                   "ORDER BY created_at, id")
        return tuple(_endpoint(r) for r in rows)

    async def set_webhook_active(self, req: SetWebhookActive, ctx: CallContext) -> WebhookEndpoint:
        _require_admin(ctx)
        eid = _uuid(req.id, f"webhook {req.id!r}")
        # Resuming starts afresh: the failing clock and an automatic disable's reason are cleared, and
        # deliveries still pending go out at the next poll. A paused endpoint is not subscribed: events
        # published meanwhile are not queued for it (fanout picks active endpoints only).
        if req.active:
            sql = ("UPDATE webhooks_endpoint SET active = true, failing_since = NULL, disabled_at = NULL, "
                   f"disabled_reason = NULL WHERE id = $1 AND deleted_at IS NULL RETURNING {_ENDPOINT_COLS}")
        else:
            sql = ("UPDATE webhooks_endpoint SET active = false, disabled_at = coalesce(disabled_at, now()), "
                   "disabled_reason = coalesce(disabled_reason, 'paused by an admin') "
                   f"WHERE id = $1 AND deleted_at IS NULL RETURNING {_ENDPOINT_COLS}")
        r = await self.db.fetchrow(sql, eid)
        if r is None:
            raise not_found(f"webhook {req.id!r}")
        return _endpoint(r)

    async def delete_webhook(self, req: WebhookById, ctx: CallContext) -> WebhookDeleted:
        _require_admin(ctx)
        eid = _uuid(req.id, f"webhook {req.id!r}")
        # Kept (marked deleted) so its delivery log stays readable; nothing is sent to it any more.
        done = await self.db.fetchval(
            "UPDATE webhooks_endpoint SET deleted_at = now(), active = false WHERE id = $1 AND deleted_at IS NULL "
            "RETURNING 1", eid)
        if done is None:
            raise not_found(f"webhook {req.id!r}")
        return WebhookDeleted(id=req.id, deleted=True)

    async def _endpoint_id(self, raw: str) -> uuid.UUID:
        eid = _uuid(raw, f"webhook {raw!r}")
        if not await self.db.fetchval("SELECT 1 FROM webhooks_endpoint WHERE id = $1 AND deleted_at IS NULL", eid):
            raise not_found(f"webhook {raw!r}")
        return eid

    async def list_deliveries(self, req: ListDeliveries, ctx: CallContext) -> tuple[WebhookDelivery, ...]:
        _require_admin(ctx)
        eid = await self._endpoint_id(req.id)
        rows = await self.db.fetch(
            "SELECT id FROM webhooks_delivery WHERE endpoint_id = $1 ORDER BY created_at DESC, id LIMIT $2",
            eid, req.limit)
        return await self._deliveries([r["id"] for r in rows])

    async def _deliveries(self, ids: list[uuid.UUID]) -> tuple[WebhookDelivery, ...]:
        if not ids:
            return ()
        rows = await self.db.fetch(
            f"SELECT id, endpoint_id::text AS endpoint_id, event_id, event_type, state, attempts, "
            f"{ISO.format('created_at')} AS created_at, "
            f"CASE WHEN state = 'pending' THEN {ISO.format('next_attempt_at')} END AS next_attempt_at "
            f"FROM webhooks_delivery WHERE id = ANY($1::uuid[]) ORDER BY created_at DESC, id", ids)
        attempts = await self.db.fetch(
            f"SELECT delivery_id, {ISO.format('attempted_at')} AS attempted_at, status_code, duration_ms, error, "
            f"response_excerpt, manual FROM (SELECT *, row_number() OVER (PARTITION BY delivery_id ORDER BY id DESC) "
            f"AS n FROM webhooks_attempt WHERE delivery_id = ANY($1::uuid[])) a WHERE n <= 20 "
            f"ORDER BY delivery_id, attempted_at DESC, id DESC", ids)
        by: dict[uuid.UUID, list[WebhookAttempt]] = {}
        for a in attempts:
            by.setdefault(a["delivery_id"], []).append(WebhookAttempt(
                attempted_at=a["attempted_at"], status_code=a["status_code"], duration_ms=a["duration_ms"],
                error=a["error"], response_excerpt=a["response_excerpt"], manual=a["manual"]))
        return tuple(WebhookDelivery(
            id=str(r["id"]), endpoint_id=r["endpoint_id"], event_id=r["event_id"], event_type=r["event_type"],
            state=r["state"], attempt_count=r["attempts"], created_at=r["created_at"],
            next_attempt_at=r["next_attempt_at"], attempts=tuple(by.get(r["id"], ()))) for r in rows)

    async def redeliver(self, req: Redeliver, ctx: CallContext) -> WebhookDelivery:
        """Send the same message again now (same webhook-id, fresh timestamp and signature)."""
        _require_admin(ctx)
        eid = await self._endpoint_id(req.id)
        did = _uuid(req.delivery_id, f"delivery {req.delivery_id!r}")
        row = await self.db.fetchrow(
            "SELECT d.id, d.attempts, d.body, d.event_type, e.id AS endpoint_id, e.url, e.secret "
            "FROM webhooks_delivery d JOIN webhooks_endpoint e ON e.id = d.endpoint_id "
            "WHERE d.id = $1 AND d.endpoint_id = $2", did, eid)
        if row is None:
            raise not_found(f"delivery {req.delivery_id!r}")
        await self.worker.attempt(row, manual=True)
        return (await self._deliveries([did]))[0]
