"""Sending webhooks: claim due deliveries (SKIP LOCKED + lease), sign, POST, log the attempt.

Retries back off exponentially with jitter; an endpoint that has failed without a
single success for ``disable_after_seconds`` is disabled (and its pending
deliveries stop). Every attempt, automatic or manual, is logged with its status,
duration and the start of the response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter
from standardwebhooks import Webhook

from kernel.core.tasks import cancel_and_wait

from .config import WebhooksConfig
from .ssrf import GuardedResolver, TargetRefused, check_url

log = logging.getLogger("shop.plugins.webhooks")

EXCERPT_CHARS = 1024
USER_AGENT = "shopkernel-webhooks/0.2"

_CLAIM = """
UPDATE webhooks_delivery d
SET next_attempt_at = now() + make_interval(secs => $2), attempts = d.attempts + 1
FROM (
    SELECT d.id FROM webhooks_delivery d JOIN webhooks_endpoint e ON e.id = d.endpoint_id
    WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND e.active AND e.deleted_at IS NULL
    ORDER BY d.next_attempt_at LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
) AS picked, webhooks_endpoint e
WHERE d.id = picked.id AND e.id = d.endpoint_id
RETURNING d.id, d.attempts, d.body, d.event_type, e.id AS endpoint_id, e.url, e.secret
"""


@dataclass(frozen=True)
class Outcome:
    status: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter("shop_webhook_deliveries_total", "Webhook delivery attempts by outcome",
                                  ["outcome"], registry=registry)
        self.disabled = Counter("shop_webhook_endpoints_disabled_total",
                                "Webhook endpoints disabled after failing too long", registry=registry)


def sign_headers(secret: str, msg_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
    now = now or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
            "content-type": "application/json", "user-agent": USER_AGENT}


def _text(value: str | None) -> str | None:
    """What a target sent, storable in a text column: PostgreSQL refuses NUL, and a failed INSERT
    would leave the attempt unrecorded and the delivery pending forever."""
    return None if value is None else value.replace("\x00", "\ufffd")


class Sender:
    """POSTs one message; never follows redirects, never reads more than the cap."""

    def __init__(self, cfg: WebhooksConfig) -> None:
        self.cfg = cfg
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.cfg.allow_private_targets),
                                             use_dns_cache=False, limit=self.cfg.concurrency * 2)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        start = time.perf_counter()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            check_url(url, self.cfg.allow_private_targets)
            timeout = aiohttp.ClientTimeout(total=self.cfg.timeout_ms / 1000,
                                            sock_connect=self.cfg.connect_timeout_ms / 1000)
            async with self.session().post(url, data=body, headers=headers, allow_redirects=False,
                                           timeout=timeout) as resp:
                status = resp.status
                chunk = await resp.content.read(self.cfg.max_response_bytes) if self.cfg.max_response_bytes else b""
                excerpt = chunk[:EXCERPT_CHARS].decode("utf-8", errors="replace") or None
                if 300 <= status < 400:
                    error = f"redirect not followed (Location: {resp.headers.get('Location', '')[:300]})"
                elif not 200 <= status < 300:
                    error = f"HTTP {status}"
        except TargetRefused as exc:
            error = f"target refused: {exc}"
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error if isinstance(exc.os_error, TargetRefused) else exc
            error = f"target refused: {cause}" if isinstance(cause, TargetRefused) else f"connection failed: {exc}"
        except TimeoutError:
            error = "timed out"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return Outcome(status, round((time.perf_counter() - start) * 1000), _text(error), _text(excerpt))


class DeliveryWorker:
    def __init__(self, db: Any, cfg: WebhooksConfig, metrics: WebhookMetrics) -> None:
        self.db = db
        self.cfg = cfg
        self.metrics = metrics
        self.sender = Sender(cfg)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        delay: float = min(float(self.cfg.retry_max_seconds), self.cfg.retry_base_ms / 1000 * 2 ** max(0, attempts - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhooks-delivery")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self.sender.close()

    async def _loop(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away; next round
                log.warning("webhooks_round_failed", extra={"error": str(exc)})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.cfg.poll_ms / 1000):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        # The lease outlives any attempt (bounded by the total timeout): only a dead process loses one.
        lease = 2 * self.cfg.timeout_ms / 1000 + 5
        rows = await self.db.fetch(_CLAIM, self.cfg.concurrency, lease)
        if rows:
            await asyncio.gather(*(self.attempt(r) for r in rows), return_exceptions=True)
        return len(rows)

    async def attempt(self, row: Any, *, manual: bool = False) -> Outcome:
        body = bytes(row["body"])
        msg_id = f"msg_{row['id'].hex}"
        outcome = await self.sender.post(row["url"], body, sign_headers(row["secret"], msg_id, body))
        await self._record(row, outcome, manual)
        return outcome

    async def _record(self, row: Any, outcome: Outcome, manual: bool) -> None:
        db = self.db
        async with db.transaction():
            await db.execute(
                "INSERT INTO webhooks_attempt (delivery_id, status_code, duration_ms, error, response_excerpt, manual) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                row["id"], outcome.status, outcome.duration_ms, outcome.error, outcome.excerpt, manual)
            if outcome.ok:
                self.metrics.deliveries.labels("succeeded").inc()
                await db.execute("UPDATE webhooks_delivery SET state = 'succeeded', finished_at = now() "
                                 "WHERE id = $1", row["id"])
                await db.execute("UPDATE webhooks_endpoint SET failing_since = NULL WHERE id = $1 "
                                 "AND failing_since IS NOT NULL", row["endpoint_id"])
                return
            if manual:
                self.metrics.deliveries.labels("failed_manual").inc()
            elif row["attempts"] >= self.cfg.max_attempts:
                self.metrics.deliveries.labels("failed").inc()
                await db.execute("UPDATE webhooks_delivery SET state = 'failed', finished_at = now() WHERE id = $1",
                                 row["id"])
            else:
                self.metrics.deliveries.labels("retry").inc()
                await db.execute("UPDATE webhooks_delivery SET next_attempt_at = now() + make_interval(secs => $2) "
                                 "WHERE id = $1 AND state = 'pending'", row["id"], self.backoff(row["attempts"]))
            since_failing = await db.fetchval(
                "UPDATE webhooks_endpoint SET failing_since = coalesce(failing_since, now()) WHERE id = $1 "
                "RETURNING extract(epoch FROM now() - failing_since)::float8", row["endpoint_id"])
            if since_failing is not None and since_failing >= self.cfg.disable_after_seconds:
                await self._disable(row["endpoint_id"], since_failing)
        log.info("webhook_attempt_failed", extra={"delivery": str(row["id"]), "status": outcome.status,
                                                  "error": outcome.error, "attempts": row["attempts"]})

    async def _disable(self, endpoint_id: Any, since: float) -> None:
        disabled = await self.db.fetchval(
            "UPDATE webhooks_endpoint SET active = false, disabled_at = now(), disabled_reason = $2 "
            "WHERE id = $1 AND active RETURNING 1", endpoint_id,
            f"failing for {round(since)} s without a success")
        if disabled:
            self.metrics.disabled.inc()
            log.warning("webhook_endpoint_disabled", extra={"endpoint": str(endpoint_id)})
