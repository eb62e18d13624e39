"""The payment intents servicer.

Transactions are short and never span a provider call: ``confirm`` marks the intent
``processing`` and commits, calls the provider with no transaction open, then
records the outcome (and tells the owner) in a second short transaction. A crash in
between leaves a ``processing`` intent that the expiry job resolves after its deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status, invalid, precondition

from .contract import (
    CancelIntent,
    CaptureIntent,
    ConfirmPayment,
    CreateIntent,
    GetPayment,
    Outcome,
    PaymentIntent,
    PaymentOutcome,
    PaymentProvider,
    PaymentRefund,
    PayNow,
    ProviderResult,
    ProviderWebhook,
    RefundPayment,
    WebhookRejected,
)

log = logging.getLogger("shop.plugins.payments")

COLUMNS = ("id, user_id, purpose, reference, notify, provider, status, amount_minor, currency, capture_method, "
           "provider_ref, brand, last4, next_action, last_error, captured_minor, refunded_minor, expires_at")
OPEN = ("requires_payment_method", "requires_action")
PAID = ("requires_capture", "succeeded")
# A confirmation whose process died mid-call is resolved by the expiry job after this long.
STUCK_PROCESSING_S = 300


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def intent_not_found() -> BusError:
    return BusError(Status.NOT_FOUND, "payment not found", reason="PAYMENT_NOT_FOUND")


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_message(r: Any, client_secret: str | None = None) -> PaymentIntent:
    action = r["next_action"]
    if isinstance(action, (str, bytes)):
        action = orjson.loads(action)
    return PaymentIntent(
        id=str(r["id"]), provider=r["provider"], status=r["status"], amount_minor=r["amount_minor"],
        currency=r["currency"], purpose=r["purpose"], reference=r["reference"], client_secret=client_secret,
        next_action=action if r["status"] == "requires_action" else None, last_error=r["last_error"],
        brand=r["brand"], last4=r["last4"], captured_minor=r["captured_minor"], refunded_minor=r["refunded_minor"],
        expires_at=_iso(r["expires_at"]))


class PaymentsServicer:
    def __init__(self, pctx: Any, config: Any, providers: dict[str, PaymentProvider]) -> None:
        self.pctx = pctx
        self.config = config
        self.providers = providers

    @property
    def db(self) -> Any:
        return self.pctx.db

    def provider(self, name: str) -> PaymentProvider:
        p = self.providers.get(name)
        if p is None:
            raise BusError(Status.FAILED_PRECONDITION, f"The payment provider {name!r} is not available.",
                           reason="PAYMENT_PROVIDER_UNAVAILABLE")
        return p

    # ------------------------------------------------------------------ create

    async def create_intent(self, req: CreateIntent, ctx: CallContext) -> PaymentIntent:
        """Joins the caller's transaction; calls no provider (the customer confirms later)."""
        name = self.config.provider
        self.provider(name)
        secret = f"pi_secret_{secrets.token_urlsafe(24)}"
        row = await self.db.fetchrow(
            f"INSERT INTO payments_intent (user_id, purpose, reference, notify, provider, status, amount_minor, "
            f"currency, capture_method, client_secret_hash, expires_at) "
            f"VALUES ($1, $2, $3, $4, $5, 'requires_payment_method', $6, $7, $8, $9, "
            f"now() + make_interval(secs => $10)) RETURNING {COLUMNS}",
            req.user_id, req.purpose, req.reference, req.notify, name, req.amount_minor, req.currency,
            self.config.capture, hashlib.sha256(secret.encode()).hexdigest(),
            float(min(self.config.payment_timeout_s, req.timeout_s or self.config.payment_timeout_s)))
        return to_message(row, client_secret=secret)

    async def get(self, req: GetPayment, ctx: CallContext) -> PaymentIntent:
        return to_message(await self._owned(req.id, ctx))

    async def _owned(self, intent_id: str, ctx: CallContext, lock: bool = False) -> Any:
        iid = _uuid(intent_id)
        if iid is None or ctx.principal.user_id is None:
            raise intent_not_found()
        row = await self.db.fetchrow(
            f"SELECT {COLUMNS} FROM payments_intent WHERE id = $1 AND user_id = $2" + (" FOR UPDATE" if lock else ""),
            iid, ctx.principal.user_id)
        if row is None:
            raise intent_not_found()
        return row

    async def _intent(self, intent_id: str, lock: bool = False) -> tuple[str, Any]:
        """(id, row) of any intent, for internal methods; ``lock`` (in the caller's transaction): FOR UPDATE."""
        iid = _uuid(intent_id)
        if iid is None:
            raise intent_not_found()
        row = await self.db.fetchrow(f"SELECT {COLUMNS} FROM payments_intent WHERE id = $1" +
                                     (" FOR UPDATE" if lock else ""), iid)
        if row is None:
            raise intent_not_found()
        return iid, row

    # ----------------------------------------------------------------- confirm

    async def confirm(self, req: ConfirmPayment, ctx: CallContext) -> PaymentIntent:
        """Idempotent: a paid intent answers as it is; a second concurrent confirm is refused while one runs."""
        async with self.db.transaction():
            row = await self._owned(req.id, ctx, lock=True)
            status = row["status"]
            if status in PAID:
                return to_message(row)
            if status == "canceled":
                raise precondition("PAYMENT_CANCELED", "This payment was cancelled or has expired.")
            if status == "processing":
                raise precondition("PAYMENT_IN_PROGRESS", "This payment is being confirmed; ask again shortly.")
            if await self.db.fetchval("SELECT $1::timestamptz < now()", row["expires_at"]):
                raise precondition("PAYMENT_EXPIRED", "This payment has expired.")
            await self.db.execute("UPDATE payments_intent SET status = 'processing', updated_at = now() "
                                  "WHERE id = $1", row["id"])
        provider = self.provider(row["provider"])
        try:
            # No transaction is open here: a slow provider holds no lock of the shop's.
            result = await provider.authorize(token=req.payment_token, intent_id=str(row["id"]),
                                              amount_minor=row["amount_minor"], currency=row["currency"],
                                              capture=row["capture_method"] == "automatic")
        except BusError as exc:
            await self._back_to_open(row["id"], exc.reason or "PROVIDER_ERROR")
            raise
        except asyncio.CancelledError:
            # The caller gave up (deadline, disconnect): open again; the provider answers the same token the same way.
            await asyncio.shield(self._back_to_open(row["id"], "CONFIRMATION_INTERRUPTED"))
            raise
        except Exception as exc:
            await self._back_to_open(row["id"], "CARD_PROCESSING_ERROR")
            log.warning("provider_error", extra={"intent_id": str(row["id"]), "error": type(exc).__name__})
            raise BusError(Status.UNAVAILABLE, "The payment provider could not be reached; try again.",
                           reason="CARD_PROCESSING_ERROR") from exc
        return await self._record(row["id"], result, ctx)

    async def _back_to_open(self, intent_id: Any, error: str) -> None:
        await self.db.execute(
            "UPDATE payments_intent SET status = 'requires_payment_method', last_error = $2, updated_at = now() "
            "WHERE id = $1 AND status = 'processing'", intent_id, error)

    async def _record(self, intent_id: Any, result: ProviderResult, ctx: CallContext) -> PaymentIntent:
        if result.status == "declined":
            await self._back_to_open(intent_id, "CARD_DECLINED")
            raise BusError(Status.FAILED_PRECONDITION, result.message or "The card was declined.",
                           reason="CARD_DECLINED")
        if result.status == "failed":
            await self._back_to_open(intent_id, "CARD_PROCESSING_ERROR")
            raise BusError(Status.UNAVAILABLE, result.message or "The card could not be processed; try again later.",
                           reason="CARD_PROCESSING_ERROR")
        if result.status == "requires_action":
            row = await self.db.fetchrow(
                f"UPDATE payments_intent SET status = 'requires_action', next_action = $2::jsonb, provider_ref = $3, "
                f"last_error = NULL, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
                intent_id, orjson.dumps(dict(result.next_action or {})).decode(), result.provider_ref or None)
            return to_message(row)
        return await self._mark_paid(intent_id, result, ctx)

    async def _mark_paid(self, intent_id: Any, result: ProviderResult, ctx: CallContext,
                         from_statuses: tuple[str, ...] = ("processing",)) -> PaymentIntent:
        captured = result.status == "captured"
        # Inside a caller's transaction (demo seed path) a savepoint keeps it usable for the undo below.
        nested = self.db.in_transaction
        try:
            async with self.db.transaction():
                if nested:
                    await self.db.execute("SAVEPOINT payments_mark_paid")
                try:
                    row = await self.db.fetchrow(
                        f"UPDATE payments_intent SET status = $2, provider_ref = $3, brand = $4, last4 = $5, "
                        f"captured_minor = CASE WHEN $6 THEN amount_minor ELSE 0 END, next_action = NULL, "
                        f"last_error = NULL, updated_at = now() WHERE id = $1 AND status = ANY($7::text[]) "
                        f"RETURNING {COLUMNS}",
                        intent_id, "succeeded" if captured else "requires_capture", result.provider_ref,
                        result.brand or None, result.last4 or None, captured, list(from_statuses))
                    if row is None:  # cancelled or expired meanwhile: the money must go back
                        raise precondition("PAYMENT_CANCELED", "This payment was cancelled or has expired.")
                    # The owner records the payment in this same transaction (order paid, wallet credited).
                    await self._notify(row, "paid", ctx)
                except BaseException:
                    if nested:
                        await self.db.execute("ROLLBACK TO SAVEPOINT payments_mark_paid")
                    raise
                if nested:
                    await self.db.execute("RELEASE SAVEPOINT payments_mark_paid")
        except BaseException:
            await self._undo_provider(result, intent_id)
            await self._back_to_open(intent_id, "PAYMENT_NOT_RECORDED")
            raise
        log.info("payment_authorized", extra={"intent_id": str(intent_id), "captured": captured,
                                              "brand": result.brand, "last4": result.last4})
        return to_message(row)

    async def _undo_provider(self, result: ProviderResult, intent_id: Any) -> None:
        row = await self.db.fetchrow("SELECT provider, amount_minor, currency FROM payments_intent WHERE id = $1",
                                     intent_id)
        if row is None or not result.provider_ref:
            return
        try:
            provider = self.provider(row["provider"])
            if result.status == "captured":
                await provider.refund(provider_ref=result.provider_ref, amount_minor=row["amount_minor"],
                                      currency=row["currency"], reference=f"{intent_id}:unrecorded")
            else:
                await provider.void(provider_ref=result.provider_ref)
            log.warning("payment_undone", extra={"intent_id": str(intent_id), "provider_ref": result.provider_ref})
        except Exception:
            log.exception("payment_undo_failed", extra={"intent_id": str(intent_id)})

    async def _notify(self, row: Any, outcome: Outcome, ctx: CallContext) -> None:
        method = next((m for m in self.pctx.bus.methods() if m.full_name == row["notify"]), None)
        if method is None:
            log.error("payment_notify_missing", extra={"intent_id": str(row["id"]), "notify": row["notify"]})
            return
        inner = dataclasses.replace(ctx, deadline=time.monotonic() + 10)
        await self.pctx.bus.call(method, PaymentOutcome(
            intent_id=str(row["id"]), purpose=row["purpose"], reference=row["reference"], user_id=row["user_id"],
            outcome=outcome, amount_minor=row["amount_minor"], currency=row["currency"].strip(),
            provider=row["provider"], brand=row["brand"], last4=row["last4"]), inner)

    # ------------------------------------------------------- cancel, capture, refund

    async def cancel_intent(self, req: CancelIntent, ctx: CallContext) -> PaymentIntent:
        """The owner gives up: open intents are cancelled; paid ones voided (authorized) or refunded in full."""
        async with self.db.transaction():
            iid, row = await self._intent(req.id, lock=True)
            if row["status"] != "canceled":
                await self.db.execute("UPDATE payments_intent SET status = 'canceled', updated_at = now() "
                                      "WHERE id = $1", iid)
        was = row["status"]
        provider = self.provider(row["provider"])
        if was == "requires_capture" and row["provider_ref"]:
            await provider.void(provider_ref=row["provider_ref"])
        else:
            # A cancel refund reserved before and never confirmed (crash, provider down): finished by its reference.
            pending = await self.db.fetchval("SELECT amount_minor FROM payments_refund WHERE intent_id = $1 AND "
                                             "reference = 'cancel' AND provider_ref IS NULL", iid)
            amount = pending or row["captured_minor"] - row["refunded_minor"]
            if amount > 0:
                # Captured money still held (also on a retry, after a refund the provider refused): give it back.
                # The reference makes it one refund however often this runs.
                await self.refund(RefundPayment(id=iid, amount_minor=amount, reference="cancel"), ctx)
                row = await self.db.fetchrow(f"SELECT {COLUMNS} FROM payments_intent WHERE id = $1", iid)
        return to_message(row)

    async def capture(self, req: CaptureIntent, ctx: CallContext) -> PaymentIntent:
        """Capture an authorized intent (capture = "manual": at fulfilment). Idempotent."""
        iid, row = await self._intent(req.id)
        if row["status"] == "succeeded":
            return to_message(row)
        if row["status"] != "requires_capture":
            raise precondition("PAYMENT_NOT_CAPTURABLE", f"A payment that is {row['status']} cannot be captured.")
        await self.provider(row["provider"]).capture(provider_ref=row["provider_ref"],
                                                     amount_minor=row["amount_minor"], currency=row["currency"])
        row = await self.db.fetchrow(
            f"UPDATE payments_intent SET status = 'succeeded', captured_minor = amount_minor, updated_at = now() "
            f"WHERE id = $1 RETURNING {COLUMNS}", iid)
        return to_message(row)

    async def refund(self, req: RefundPayment, ctx: CallContext) -> PaymentRefund:
        """Refund part or all of a captured payment; the same reference refunds once.

        The amount is reserved and the refund row written first, in one short transaction
        (``provider_ref`` NULL: pending); the provider is called with none open, by the same
        reference (its idempotency key), and its answer recorded. So a retry, or the expiry job
        after a crash, finishes that same refund and never counts the amount twice. Only a
        provider's refusal gives the reservation back; any other failure leaves it pending.
        """
        async with self.db.transaction():
            iid, row = await self._intent(req.id, lock=True)
            done = await self.db.fetchrow("SELECT id, amount_minor, provider_ref FROM payments_refund "
                                          "WHERE intent_id = $1 AND reference = $2", iid, req.reference)
            if done is not None:
                if done["amount_minor"] != req.amount_minor:
                    raise precondition("REFUND_ALREADY_MADE",
                                       f"This payment was already refunded under reference {req.reference!r}.")
                if done["provider_ref"] is not None:
                    return PaymentRefund(id=str(done["id"]), intent_id=iid, amount_minor=done["amount_minor"],
                                         provider_ref=done["provider_ref"])
                refund_id = done["id"]  # reserved earlier, never confirmed: finish it (no second reservation)
            else:
                left = row["captured_minor"] - row["refunded_minor"]
                if req.amount_minor > left:
                    raise precondition("REFUND_EXCEEDS_PAYMENT",
                                       f"Only {left} of this payment can still be refunded.")
                await self.db.execute("UPDATE payments_intent SET refunded_minor = refunded_minor + $2, "
                                      "updated_at = now() WHERE id = $1", iid, req.amount_minor)
                refund_id = await self.db.fetchval(
                    "INSERT INTO payments_refund (intent_id, amount_minor, reference, retry_at) "
                    "VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING id",
                    iid, req.amount_minor, req.reference, float(STUCK_PROCESSING_S))
        return await self._refund_at_provider(row, refund_id, req.amount_minor, req.reference)

    async def _refund_at_provider(self, row: Any, refund_id: Any, amount: int, reference: str) -> PaymentRefund:
        try:
            ref = await self.provider(row["provider"]).refund(
                provider_ref=row["provider_ref"], amount_minor=amount, currency=row["currency"],
                reference=reference)
        except BusError as exc:
            if exc.status == Status.FAILED_PRECONDITION:  # the provider said no: nothing moved
                await self._refund_refused(row["id"], refund_id, amount)
            raise
        except Exception as exc:
            # Unreachable, timed out: the money may have moved. The refund stays pending; a retry by
            # reference (or the expiry job) finishes it.
            log.warning("refund_pending", extra={"intent_id": str(row["id"]), "error": type(exc).__name__})
            raise BusError(Status.UNAVAILABLE, "The payment provider could not be reached; the refund is "
                           "recorded and will be completed.", reason="REFUND_PENDING") from exc
        await self.db.execute("UPDATE payments_refund SET provider_ref = $2, retry_at = NULL "
                              "WHERE id = $1 AND provider_ref IS NULL", refund_id, ref)
        return PaymentRefund(id=str(refund_id), intent_id=str(row["id"]), amount_minor=amount, provider_ref=ref)

    async def _refund_refused(self, intent_id: Any, refund_id: Any, amount: int) -> None:
        async with self.db.transaction():
            gone = await self.db.fetchval("DELETE FROM payments_refund WHERE id = $1 AND provider_ref IS NULL "
                                          "RETURNING id", refund_id)
            if gone is not None:  # once, however many callers saw the refusal
                await self.db.execute("UPDATE payments_intent SET refunded_minor = refunded_minor - $2, "
                                      "updated_at = now() WHERE id = $1", intent_id, amount)

    async def finish_pending_refunds(self, limit: int = 100) -> int:
        """Refunds reserved but never confirmed by the provider (the process died, the provider was down),
        past their ``retry_at``: each is claimed for a while (SKIP LOCKED: disjoint between processes) and
        asked again by its reference, which the provider answers with the same refund. Returns how many
        were claimed."""
        rows = await self.db.claim_due(
            "SELECT r.id AS refund_id, r.amount_minor AS refund_minor, r.reference, i.id, i.provider, "
            "i.provider_ref, i.currency FROM payments_refund r JOIN payments_intent i ON i.id = r.intent_id "
            "WHERE r.provider_ref IS NULL AND r.retry_at < now() ORDER BY r.retry_at LIMIT $1 "
            "FOR UPDATE OF r SKIP LOCKED", limit, "payments_refund", STUCK_PROCESSING_S, key="refund_id")
        for r in rows:
            try:
                await self._refund_at_provider(r, r["refund_id"], r["refund_minor"], r["reference"])
                log.info("refund_finished", extra={"intent_id": str(r["id"]), "refund_id": str(r["refund_id"])})
            except Exception:
                log.warning("refund_still_pending", extra={"intent_id": str(r["id"]),
                                                           "refund_id": str(r["refund_id"])})
        return len(rows)

    # ---------------------------------------------------------- webhooks, demo

    async def provider_webhook(self, req: ProviderWebhook, ctx: CallContext) -> PaymentIntent:
        provider = self.providers.get(req.provider)
        if provider is None:
            raise intent_not_found()
        try:
            event = provider.verify_webhook(req.body.encode(), dict(req.headers or {}))
        except WebhookRejected as exc:
            log.warning("webhook_rejected", extra={"provider": req.provider})
            raise BusError(Status.UNAUTHENTICATED, "The webhook signature is missing or wrong.",
                           reason="BAD_SIGNATURE") from exc
        iid = _uuid(event.intent_id)
        row = iid and await self.db.fetchrow(f"SELECT {COLUMNS} FROM payments_intent WHERE id = $1 AND provider = $2",
                                             iid, req.provider)
        if not row:
            raise intent_not_found()
        if event.type == "declined" or row["status"] in PAID or row["status"] == "canceled":
            if event.type == "declined":
                await self.db.execute(
                    "UPDATE payments_intent SET status = 'requires_payment_method', last_error = 'CARD_DECLINED', "
                    "updated_at = now() WHERE id = $1 AND status = ANY($2::text[])", iid,
                    ["requires_action", "processing"])
            row = await self.db.fetchrow(f"SELECT {COLUMNS} FROM payments_intent WHERE id = $1", iid)
            return to_message(row)
        result = ProviderResult(status="captured" if event.type == "captured" else "authorized",
                                provider_ref=event.provider_ref, brand=event.brand, last4=event.last4)
        return await self._mark_paid(iid, result, ctx, from_statuses=("requires_action", "processing",
                                                                      "requires_payment_method"))

    async def pay_now(self, req: PayNow, ctx: CallContext) -> PaymentIntent:
        """Demo-mode seed compatibility: a raw card, tokenized by a provider that offers it, then confirmed."""
        if not self.pctx.settings.demo:
            raise invalid("card", "is accepted only in demo mode: confirm with a payment token instead")
        iid = _uuid(req.id)
        row = iid and await self.db.fetchrow("SELECT provider FROM payments_intent WHERE id = $1", iid)
        if not row or iid is None:
            raise intent_not_found()
        tokenize = getattr(self.provider(row["provider"]), "tokenize_card", None)
        if tokenize is None:
            raise invalid("card", "this shop's payment provider takes tokens only")
        token = await tokenize(req.card)
        return await self.confirm(ConfirmPayment(id=iid, payment_token=token), ctx)

    # -------------------------------------------------------------- expiry job

    async def expire_due(self, limit: int = 100) -> int:
        """Cancel intents past their deadline and tell their owners; safe with many processes.

        Returns how many were expired (a full batch: call again).

        FOR UPDATE SKIP LOCKED: each process takes a disjoint batch, and an intent being
        confirmed (row locked) is skipped. Authorized-but-unrecorded money is voided after commit.
        """
        ctx = CallContext(depth=1)  # the shop itself, calling owners' internal methods
        expired = []
        async with self.db.transaction():
            rows = await self.db.fetch(
                f"SELECT {COLUMNS} FROM payments_intent WHERE expires_at < now() AND "
                f"(status IN ('requires_payment_method', 'requires_action') OR "
                f"(status = 'processing' AND updated_at < now() - make_interval(secs => $2))) "
                f"ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED", limit, float(STUCK_PROCESSING_S))
            for row in rows:
                # One savepoint per intent: an owner that fails on one (a bug, a lost record) must not
                # roll back the batch, or that intent would come first in every batch and stop all expiry.
                await self.db.execute("SAVEPOINT payments_expire_one")
                try:
                    await self.db.execute("UPDATE payments_intent SET status = 'canceled', "
                                          "last_error = 'PAYMENT_EXPIRED', updated_at = now() WHERE id = $1",
                                          row["id"])
                    await self._notify(row, "expired", ctx)
                except Exception:
                    await self.db.execute("ROLLBACK TO SAVEPOINT payments_expire_one")
                    log.exception("payment_expiry_notify_failed", extra={"intent_id": str(row["id"])})
                    # Still open (its owner still holds what it held): tried again a minute later, after the others.
                    await self.db.execute(
                        "UPDATE payments_intent SET expires_at = now() + interval '1 minute', "
                        "last_error = 'EXPIRY_NOTIFY_FAILED', updated_at = now() WHERE id = $1", row["id"])
                    continue
                await self.db.execute("RELEASE SAVEPOINT payments_expire_one")
                expired.append(row)
        rows = expired
        for row in rows:
            if row["provider_ref"]:
                try:
                    await self.provider(row["provider"]).void(provider_ref=row["provider_ref"])
                except Exception:
                    log.exception("payment_void_failed", extra={"intent_id": str(row["id"])})
        if rows:
            log.info("payments_expired", extra={"count": len(rows)})
        return len(rows)
