"""The wallet servicer: validation, then the ledger. Paid top-ups go through plugins.payments."""

from __future__ import annotations

import uuid
from typing import Any

from kernel.core.context import CallContext
from kernel.core.iso4217 import EXPONENTS
from kernel.core.status import BusError, Status, invalid, precondition
from kernel.host.plugin import PluginContext
from plugins.auth.contract import FindUserByEmail, Users
from plugins.payments.contract import Ack, CreateIntent, PaymentOutcome, Payments, PayNow

from . import ledger, queries
from .contract import (
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
    Rate,
    Rates,
    TopUp,
    TopUpPayment,
    Transfer,
    TransferResult,
    Wallet,
    Wallets,
)
from .ledger import CARD_CLEARING, FUNDING, Leg, sales_owner
from .money import Money, WalletConfig


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
        self.sales_stripes = config.sales_stripes
        self.demo = ctx.settings.demo

    @property
    def db(self) -> Any:
        return self.ctx.db

    # ------------------------------------------------------------------ public

    async def list_wallets(self, req: ListWallets, ctx: CallContext) -> tuple[Wallet, ...]:
        rows = await self.db.run(queries.USER_WALLETS, owner=ctx.principal.require_user())
        return tuple(Wallet(id=str(r["id"]), currency=r["currency"], balance_minor=r["balance_minor"]) for r in rows)

    async def list_currencies(self, req: ListCurrencies, ctx: CallContext) -> tuple[CurrencyInfo, ...]:
        return tuple(CurrencyInfo(code=c, exponent=EXPONENTS[c]) for c in self.money.ordered)

    async def top_up(self, req: TopUp, ctx: CallContext) -> Wallet:
        """Free in demo mode (system:funding); otherwise paid through a payment intent.

        The paid top-up answers the wallet as it is with ``payment``: once the customer
        confirms it, payments calls ``payment_outcome`` and the wallet is credited once.
        """
        user = ctx.principal.require_user()
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor, maximum=self.money.max_topup_minor)
        if req.card is not None and not self.demo:
            raise invalid("card", "is accepted only in demo mode: top up without a card and confirm the payment "
                                  "with a token from the provider's script")
        if req.card is None and self.allow_demo_topup:
            async def free() -> Wallet:
                posted = await ledger.post(
                    self.db, kind="topup", currency=currency, memo="Top-up",
                    legs=[Leg("system", FUNDING, -amount, "topup", "Top-up"), Leg("user", user, amount, "topup", "Top-up")],
                )
                key = ("user", user)
                return Wallet(id=posted.account_ids[key], currency=currency, balance_minor=posted.balances[key])

            return await ledger.atomic(self.db, free)
        if not self.ctx.bus.has(Payments.create_intent):
            raise invalid("card", "is required: free top-ups are off and no payment plugin is enabled")
        async with self.db.transaction():
            intent = await self.ctx.bus.call(Payments.create_intent, CreateIntent(
                user_id=user, purpose="topup", reference=f"topup:{uuid.uuid4()}", amount_minor=amount,
                currency=currency, notify=Wallets.payment_outcome.full_name), ctx)
            if req.card is not None:
                # Seed compatibility (demo only): the test provider tokenizes the card; confirmed at once.
                await self.ctx.bus.call(Payments.pay_now, PayNow(id=intent.id, card=req.card), ctx)
                return await self._wallet(user, currency)
        wallet = await self._wallet(user, currency)
        return Wallet(id=wallet.id, currency=currency, balance_minor=wallet.balance_minor, payment=TopUpPayment(
            id=intent.id, provider=intent.provider, status=intent.status, client_secret=intent.client_secret))

    async def _wallet(self, user: str, currency: str) -> Wallet:
        await ledger._ensure_accounts(self.db, currency, [("user", user)])
        row = await self.db.fetchrow("SELECT id::text AS id, balance_minor FROM wallet_accounts "
                                     "WHERE kind = 'user' AND owner = $1 AND currency = $2", user, currency)
        return Wallet(id=row["id"], currency=currency, balance_minor=row["balance_minor"])

    async def payment_outcome(self, req: PaymentOutcome, ctx: CallContext) -> Ack:
        """A paid top-up intent credits the wallet from card clearing, once (keyed by the intent)."""
        if req.purpose != "topup" or req.outcome != "paid":
            return Ack()
        reference = f"payment:{req.intent_id}"

        async def credit() -> None:
            done = await self.db.fetchval("SELECT 1 FROM wallet_transactions WHERE reference = $1 AND kind = 'topup'",
                                          reference)
            if done:
                return
            memo = f"Card top-up ({req.brand} ending {req.last4})" if req.last4 else "Card top-up"
            await ledger.post(self.db, kind="topup", currency=req.currency, reference=reference, memo=memo,
                              legs=[Leg("system", CARD_CLEARING, -req.amount_minor, "topup", memo),
                                    Leg("user", req.user_id, req.amount_minor, "topup", memo)])

        await ledger.atomic(self.db, credit)
        return Ack()

    async def transfer(self, req: Transfer, ctx: CallContext) -> TransferResult:
        sender = ctx.principal.require_user()
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
        user = ctx.principal.require_user()
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
        """Pay from a wallet into system:sales, inside the caller's transaction.

        The hot path of every wallet checkout, so it locks late and briefly: an unlocked
        read finds both accounts (and refuses a short balance early), then ONE statement
        locks them in id order, moves the money and writes the transaction and its entries.
        system:sales is shared by every checkout in the currency: it stays locked only from
        that statement to the caller's commit. The user balance CHECK still guards a race.
        """
        currency = self.money.check_accepted(req.currency)
        amount = self.money.check_amount(req.amount_minor)
        if not req.user_id:
            raise invalid("userId", "must not be empty")
        tx_id = req.transaction_id or str(uuid.uuid4())
        if _uuid_or_none(tx_id) is None:
            raise invalid("transactionId", "must be a UUID")
        memo = f"Payment {req.reference}"
        sales_acct = sales_owner(req.user_id, self.sales_stripes)

        async def run() -> LedgerReceipt:
            found = {(r["kind"], r["owner"]): r for r in await self.db.fetch(
                "SELECT id, kind, owner, balance_minor FROM wallet_accounts WHERE currency = $1 "
                "AND ((kind = 'user' AND owner = $2) OR (kind = 'system' AND owner = $3))",
                currency, req.user_id, sales_acct)}
            user = found.get(("user", req.user_id))
            balance = 0 if user is None else user["balance_minor"]
            if user is None or balance < amount:  # no wallet: a balance of 0 (amounts are positive)
                raise precondition("INSUFFICIENT_FUNDS",
                                   f"Not enough money in the {currency} wallet: the balance is {balance}, "
                                   f"{amount} is needed.")
            sales = found.get(("system", sales_acct))
            if sales is None:
                await self.db.execute("INSERT INTO wallet_accounts (kind, owner, currency) VALUES ('system', $1, $2) "
                                      "ON CONFLICT (kind, owner, currency) DO NOTHING", sales_acct, currency)
                sales_id = await self.db.fetchval("SELECT id FROM wallet_accounts WHERE kind = 'system' "
                                                  "AND owner = $1 AND currency = $2", sales_acct, currency)
            else:
                sales_id = sales["id"]
            new_balance = await self.db.fetchval(
                "WITH locked AS (SELECT id FROM wallet_accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE), "
                "upd AS (UPDATE wallet_accounts a SET balance_minor = a.balance_minor + d.delta "
                "  FROM unnest($1::uuid[], $2::bigint[]) AS d(id, delta), locked l "
                "  WHERE a.id = d.id AND l.id = d.id RETURNING a.id, a.balance_minor), "
                "tx AS (INSERT INTO wallet_transactions (id, kind, currency, reference, memo) "
                "  VALUES ($3::uuid, 'payment', $4, $5, $6) RETURNING id), "
                "ent AS (INSERT INTO wallet_entries (transaction_id, account_id, kind, amount_minor, currency, memo) "
                "  SELECT tx.id, d.id, 'payment', d.delta, $4, $6 FROM tx, "
                "  unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS d(id, delta, n) ORDER BY d.n) "
                "SELECT balance_minor FROM upd WHERE id = $7",
                [user["id"], sales_id], [-amount, amount], tx_id, currency, req.reference, memo, user["id"])
            return LedgerReceipt(transaction_id=tx_id, balance_minor=new_balance)

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
                    "(card payments are refunded through plugins.payments).",
                )

        async def run() -> LedgerReceipt:
            posted = await ledger.post(
                self.db, kind="refund", currency=currency, reference=req.reference, memo=f"Refund {req.reference}",
                legs=[Leg("system", sales_owner(req.user_id, self.sales_stripes), -amount, "refund",
                          f"Refund {req.reference}"),
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


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None
