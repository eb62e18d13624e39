"""The wallet and payment servicers: validation, then the ledger."""

from __future__ import annotations

import uuid
from typing import Any

from kernel.context import CallContext
from kernel.iso4217 import EXPONENTS
from kernel.plugin import PluginContext
from kernel.status import BusError, Status, invalid, not_found, precondition
from plugins.auth.contract import FindUserByEmail, Users

from . import ledger, queries
from .contract import (
    CardCharge,
    CardRefund,
    ChargeCard,
    ConvertAmount,
    Converted,
    Credit,
    CurrencyInfo,
    Debit,
    GetRates,
    LedgerEntry,
    LedgerPage,
    LedgerReceipt,
    ListCurrencies,
    ListTransactions,
    ListWallets,
    Payments,
    Rate,
    Rates,
    RefundCharge,
    TopUp,
    Transfer,
    TransferResult,
    Wallet,
)
from .gateway import PaymentProvider
from .ledger import CARD_CLEARING, FUNDING, SALES, Leg
from .money import Money, WalletConfig


def _user(ctx: CallContext) -> str:
    user_id = ctx.principal.user_id
    if user_id is None:  # the bus's `user=True` already guarantees this
        raise BusError(Status.PERMISSION_DENIED, "This needs a signed-in user, not a client.")
    return user_id


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class WalletServicer:
    def __init__(self, ctx: PluginContext, money: Money, config: WalletConfig) -> None:
        self.ctx = ctx
        self.money = money
        # Free top-ups (funded by system:funding) are a demo convenience only.
        self.allow_demo_topup = config.allow_demo_topup and ctx.settings.demo
        self.demo = ctx.settings.demo

    @property
    def db(self) -> Any:
        return self.ctx.db

    # ------------------------------------------------------------------ public

    async def list_wallets(self, req: ListWallets, ctx: CallContext) -> tuple[Wallet, ...]:
        rows = await self.db.run(queries.USER_WALLETS, owner=_user(ctx))
        return tuple(Wallet(id=str(r["id"]), currency=r["currency"], balance_minor=r["balance_minor"]) for r in rows)

    async def list_currencies(self, req: ListCurrencies, ctx: CallContext) -> tuple[CurrencyInfo, ...]:
        return tuple(CurrencyInfo(code=c, exponent=EXPONENTS[c]) for c in self.money.ordered)

    async def top_up(self, req: TopUp, ctx: CallContext) -> Wallet:
        user = _user(ctx)
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor, maximum=self.money.max_topup_minor)
        if req.card is None and not self.demo:
            raise BusError(Status.FAILED_PRECONDITION,
                           "A top-up needs a payment: free top-ups exist only in demo mode (SHOP_DEMO=1).",
                           reason="PAYMENT_REQUIRED", field_errors=[("card", "is required outside demo mode")])
        if req.card is None and not self.allow_demo_topup:
            raise invalid("card", "is required: this shop tops up wallets only by card")

        async def run() -> Wallet:
            source, reference, memo = FUNDING, "", "Top-up"
            if req.card is not None:
                charge = await self.ctx.bus.call(
                    Payments.charge_card,
                    ChargeCard(card=req.card, currency=currency, amount_minor=amount, reference=f"wallet-topup:{user}"),
                    ctx,
                )
                source, reference = CARD_CLEARING, f"card-charge:{charge.charge_id}"
                memo = f"Card top-up ({charge.brand} ending {charge.last4})"
            posted = await ledger.post(
                self.db, kind="topup", currency=currency, reference=reference, memo=memo,
                legs=[Leg("system", source, -amount, "topup", memo), Leg("user", user, amount, "topup", memo)],
            )
            key = ("user", user)
            return Wallet(id=posted.account_ids[key], currency=currency, balance_minor=posted.balances[key])

        # A card charge is never retried behind the caller's back.
        return await ledger.atomic(self.db, run, retry=req.card is None)

    async def transfer(self, req: Transfer, ctx: CallContext) -> TransferResult:
        sender = _user(ctx)
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor)
        try:
            recipient = await self.ctx.bus.call(Users.find_user_by_email, FindUserByEmail(email=req.to_email), ctx)
        except BusError as exc:
            if exc.status in (Status.NOT_FOUND, Status.INVALID_ARGUMENT):
                raise BusError(Status.NOT_FOUND, "recipient not found",
                               field_errors=[("toEmail", "no customer has this email address")]) from None
            raise
        if recipient.id == sender:
            raise invalid("toEmail", "is your own address: you cannot transfer money to yourself")
        sender_name = ctx.principal.email or "another customer"
        note = f": {req.memo}" if req.memo else ""
        out_memo, in_memo = f"Transfer to {recipient.email}{note}", f"Transfer from {sender_name}{note}"

        async def run() -> TransferResult:
            posted = await ledger.post(
                self.db, kind="transfer", currency=currency, memo=req.memo or "",
                legs=[Leg("user", sender, -amount, "transfer_out", out_memo),
                      Leg("user", recipient.id, amount, "transfer_in", in_memo)],
            )
            return TransferResult(id=posted.transaction_id, currency=currency, amount_minor=amount,
                                  to_email=recipient.email, balance_minor=posted.balances[("user", sender)],
                                  created_at=ledger.iso(posted.created_at))

        return await ledger.atomic(self.db, run)

    async def list_transactions(self, req: ListTransactions, ctx: CallContext) -> LedgerPage:
        user = _user(ctx)
        accounts = await self.db.run(queries.USER_ACCOUNT, owner=user, currency=req.currency)
        if not accounts:
            self.money.check_accepted(req.currency)  # a currency the shop never had is a bad request
            return LedgerPage(items=(), page=req.page, page_size=req.page_size, total=0)
        account_id = accounts[0]["id"]
        total = (await self.db.run(queries.ENTRY_COUNT, account=account_id))[0]["count"]
        # SQL: LIMIT/OFFSET as parameters (the query builder writes them into the SQL text).
        rows = await self.db.fetch(
            "SELECT id::text AS id, transaction_id::text AS transaction_id, kind, amount_minor, currency, memo, "
            "created_at FROM wallet_entries WHERE account_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3",
            account_id, req.page_size, (req.page - 1) * req.page_size,
        )
        items = tuple(
            LedgerEntry(id=r["id"], transaction_id=r["transaction_id"], kind=r["kind"], amount_minor=r["amount_minor"],
                        currency=r["currency"], memo=r["memo"], created_at=ledger.iso(r["created_at"]))
            for r in rows
        )
        return LedgerPage(items=items, page=req.page, page_size=req.page_size, total=total)

    # ---------------------------------------------------------------- internal

    async def debit(self, req: Debit, ctx: CallContext) -> LedgerReceipt:
        """Pay from a wallet into system:sales, inside the caller's transaction."""
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor)
        if not req.user_id:
            raise invalid("userId", "must not be empty")

        async def run() -> LedgerReceipt:
            posted = await ledger.post(
                self.db, kind="payment", currency=currency, reference=req.reference, memo=f"Payment {req.reference}",
                legs=[Leg("user", req.user_id, -amount, "payment", f"Payment {req.reference}"),
                      Leg("system", SALES, amount, "payment", f"Payment {req.reference}")],
            )
            return LedgerReceipt(transaction_id=posted.transaction_id,
                                 balance_minor=posted.balances[("user", req.user_id)])

        return await ledger.atomic(self.db, run)

    async def credit(self, req: Credit, ctx: CallContext) -> LedgerReceipt:
        """Refund a wallet payment from system:sales; never more than was paid under ``reference``."""
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor)
        if not req.user_id:
            raise invalid("userId", "must not be empty")
        if not req.reference:
            raise invalid("reference", "must name the payment being refunded")
        key = ("user", req.user_id)

        async def bound(accounts: dict[tuple[str, str], Any]) -> None:
            # Runs with the wallet locked, so two refunds of one payment are serialised.
            # SQL: a sum over a join, filtered on both sides.
            refundable = await self.db.fetchval(
                "SELECT COALESCE(sum(-e.amount_minor), 0) FROM wallet_entries e "
                "JOIN wallet_transactions t ON t.id = e.transaction_id "
                "WHERE e.account_id = $1 AND t.reference = $2 AND e.kind IN ('payment', 'refund')",
                accounts[key]["id"], req.reference,
            )
            if amount > refundable:
                raise precondition(
                    "REFUND_EXCEEDS_PAYMENT",
                    f"Only {refundable} of the wallet payment {req.reference!r} can still be refunded "
                    "(card payments are refunded with Payments.refund_charge).",
                )

        async def run() -> LedgerReceipt:
            posted = await ledger.post(
                self.db, kind="refund", currency=currency, reference=req.reference, memo=f"Refund {req.reference}",
                legs=[Leg("system", SALES, -amount, "refund", f"Refund {req.reference}"),
                      Leg("user", req.user_id, amount, "refund", f"Refund {req.reference}")],
                check=bound,
            )
            return LedgerReceipt(transaction_id=posted.transaction_id, balance_minor=posted.balances[key])

        return await ledger.atomic(self.db, run)

    async def convert(self, req: ConvertAmount, ctx: CallContext) -> Converted:
        if req.amount_minor < 0:
            raise invalid("amountMinor", "must not be negative")
        return Converted(amount_minor=self.money.convert(req.amount_minor, req.from_currency, req.to_currency),
                         currency=req.to_currency)

    async def rates_into(self, req: GetRates, ctx: CallContext) -> Rates:
        """Only currencies the shop accepts (checkout accepts no other); rates in a stable order."""
        self.money.check_accepted(req.to_currency, "toCurrency")
        found = sorted((src, rate) for (src, dst), rate in self.money.rates.items() if dst == req.to_currency)
        return Rates(to_currency=req.to_currency, rates=tuple(
            Rate(from_currency=src, numerator=rate.numerator, denominator=rate.denominator) for src, rate in found))


class PaymentsServicer:
    """Records card charges and refunds; the provider talks to the card network."""

    def __init__(self, ctx: PluginContext, money: Money, provider: PaymentProvider) -> None:
        self.ctx = ctx
        self.money = money
        self.provider = provider

    async def charge_card(self, req: ChargeCard, ctx: CallContext) -> CardCharge:
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor)
        db = self.ctx.db
        auth = await self.provider.charge(req.card, currency, amount, req.reference)
        async with db.transaction():  # joins the caller's (checkout, top-up)
            # SQL: Piccolo's insert would write its own defaults for every column, not the database's.
            charge_id = await db.fetchval(
                "INSERT INTO card_charges (provider, provider_ref, brand, last4, amount_minor, currency, reference) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text",
                self.provider.name, auth.provider_ref, auth.brand, auth.last4, amount, currency, req.reference,
            )
        self.ctx.log.info("card_charged", extra={"charge_id": charge_id, "brand": auth.brand, "last4": auth.last4,
                                                 "amount_minor": amount, "currency": currency})
        return CardCharge(charge_id=charge_id, brand=auth.brand, last4=auth.last4, amount_minor=amount,
                          currency=currency)

    async def refund_charge(self, req: RefundCharge, ctx: CallContext) -> CardRefund:
        """Refund part or all of a charge; the same (charge, reference) refunds only once."""
        amount = self.money.check_amount(req.amount_minor)
        if not _is_uuid(req.charge_id):
            raise not_found("card charge")
        if not req.reference:
            raise invalid("reference", "must not be empty")
        db = self.ctx.db

        async def run() -> CardRefund:
            # SQL: a row lock (FOR UPDATE).
            charge = await db.fetchrow(
                "SELECT id::text AS id, provider_ref, amount_minor, refunded_minor, currency FROM card_charges "
                "WHERE id = $1 FOR UPDATE", req.charge_id)
            if charge is None:
                raise not_found("card charge")
            refunds = await db.run(queries.REFUND_BY_REFERENCE, charge=req.charge_id, reference=req.reference)
            if refunds:
                done = refunds[0]
                if done["amount_minor"] != amount:
                    raise precondition("REFUND_ALREADY_MADE",
                                       f"This charge was already refunded under reference {req.reference!r}.")
                return CardRefund(refund_id=str(done["id"]), charge_id=charge["id"], amount_minor=amount)
            left = charge["amount_minor"] - charge["refunded_minor"]
            if amount > left:
                raise precondition("REFUND_EXCEEDS_CHARGE",
                                   f"Only {left} of this charge can still be refunded.")
            await self.provider.refund(charge["provider_ref"], charge["currency"], amount, req.reference)
            # SQL: as for charges, the database's defaults; then an arithmetic update in one statement.
            refund_id = await db.fetchval(
                "INSERT INTO card_refunds (charge_id, amount_minor, reference) VALUES ($1, $2, $3) RETURNING id::text",
                req.charge_id, amount, req.reference)
            await db.execute(
                "UPDATE card_charges SET refunded_minor = refunded_minor + $2, "
                "status = CASE WHEN refunded_minor + $2 = amount_minor THEN 'refunded' ELSE 'partially_refunded' END "
                "WHERE id = $1", req.charge_id, amount)
            return CardRefund(refund_id=refund_id, charge_id=charge["id"], amount_minor=amount)

        return await ledger.atomic(db, run, retry=False)
