"""What other plugins may import from wallet: wallets, the ledger, and card payments."""

from __future__ import annotations

from typing import Literal

from kernel.messages import Timestamp, Uuid, constraint, message
from kernel.scopes import Scope
from kernel.service import Service, rpc

# The scopes this plugin enforces (docs/plugins.md, "Scopes"); the consent screen shows the descriptions.
SCOPES = (
    Scope("wallet:read", "See your wallet balances and transactions"),
    Scope("wallet:write", "Top up your wallet and send money from it"),
)

CURRENCY = r"[A-Z]{3}"
EntryKind = Literal["topup", "transfer_in", "transfer_out", "payment", "refund"]


@message
class Wallet:
    id: Uuid
    currency: str
    balance_minor: int


@message
class Card:
    """A payment card. Only brand and last 4 digits are ever stored."""

    number: str = constraint(min_len=12, max_len=23)
    exp_month: int = constraint(min=1, max=12)
    exp_year: int = constraint(min=2000, max=2200)
    cvc: str = constraint(min_len=3, max_len=4, pattern=r"[0-9]{3,4}")
    holder: str | None = constraint(default=None, max_len=100)


@message
class ListWallets:
    pass


@message
class TopUp:
    currency: str = constraint(pattern=CURRENCY)
    amount_minor: int  # validated against configured bounds by the servicer
    card: Card | None = None  # charge a card through the payment gateway; None: demo funding


@message
class Transfer:
    to_email: str = constraint(min_len=3, max_len=254, strip=True)
    currency: str = constraint(pattern=CURRENCY)
    amount_minor: int
    memo: str | None = constraint(default=None, max_len=200)


@message
class TransferResult:
    id: Uuid  # ledger transaction id
    currency: str
    amount_minor: int
    to_email: str
    balance_minor: int  # sender's balance after the transfer
    created_at: Timestamp


@message
class ListTransactions:
    currency: str = constraint(pattern=CURRENCY)
    page: int = constraint(default=1, min=1, max=100_000)
    page_size: int = constraint(default=20, min=1, max=100)


@message
class LedgerEntry:
    id: Uuid
    transaction_id: Uuid
    kind: EntryKind
    amount_minor: int  # signed: + credit, - debit
    currency: str
    memo: str
    created_at: Timestamp


@message
class LedgerPage:
    items: tuple[LedgerEntry, ...]
    page: int
    page_size: int
    total: int


# ---- internal, called by orders inside its checkout transaction


@message
class Debit:
    user_id: str
    currency: str = constraint(pattern=CURRENCY)
    amount_minor: int = constraint(min=1)
    reference: str  # e.g. "order:<id>"; recorded on the ledger transaction


@message
class Credit:
    """Refund to a user's wallet (from the sales account)."""

    user_id: str
    currency: str = constraint(pattern=CURRENCY)
    amount_minor: int = constraint(min=1)
    reference: str


@message
class LedgerReceipt:
    transaction_id: str
    balance_minor: int


@message
class ChargeCard:
    card: Card
    currency: str = constraint(pattern=CURRENCY)
    amount_minor: int = constraint(min=1)
    reference: str


@message
class CardCharge:
    charge_id: str
    brand: str
    last4: str
    amount_minor: int
    currency: str


@message
class RefundCharge:
    charge_id: str
    amount_minor: int = constraint(min=1)
    reference: str


@message
class CardRefund:
    refund_id: str
    charge_id: str
    amount_minor: int


@message
class ConvertAmount:
    """Convert an amount between currencies at the configured rate (exact, half-even)."""

    amount_minor: int
    from_currency: str = constraint(pattern=CURRENCY)
    to_currency: str = constraint(pattern=CURRENCY)


@message
class Converted:
    amount_minor: int
    currency: str


@message
class GetRates:
    """The configured rates into one currency, exact: for display prices converted as checkout converts."""

    to_currency: str = constraint(pattern=CURRENCY)


@message
class Rate:
    from_currency: str
    numerator: int  # the rate (major units of to per major unit of from) = numerator / denominator
    denominator: int


@message
class Rates:
    to_currency: str
    rates: tuple[Rate, ...]


@message
class ListCurrencies:
    pass


@message
class CurrencyInfo:
    code: str
    exponent: int  # ISO 4217 minor-unit exponent: JPY 0, EUR 2, BHD 3


class Wallets(Service, package="shop.wallet.v1"):
    list_wallets = rpc(ListWallets, tuple[Wallet, ...], scope="wallet:read", user=True)
    top_up = rpc(TopUp, Wallet, scope="wallet:write", user=True, idempotent=True, rate_limit="money")
    transfer = rpc(Transfer, TransferResult, scope="wallet:write", user=True, idempotent=True, rate_limit="money")
    list_transactions = rpc(ListTransactions, LedgerPage, scope="wallet:read", user=True)
    # Internal: orders calls these inside its checkout/cancel transaction.
    debit = rpc(Debit, LedgerReceipt, internal=True)
    credit = rpc(Credit, LedgerReceipt, internal=True)
    convert = rpc(ConvertAmount, Converted, internal=True)
    # Added: the exact rates into a currency, for catalogs that show and sort display prices (catalog v2).
    rates_into = rpc(GetRates, Rates, internal=True)
    # Added: the currencies the shop accepts, for top-up forms (GET /api/wallets/currencies).
    list_currencies = rpc(ListCurrencies, tuple[CurrencyInfo, ...])


class Payments(Service, package="shop.wallet.v1"):
    """Card payments through the configured gateway (built-in: the test gateway)."""

    charge_card = rpc(ChargeCard, CardCharge, internal=True)
    refund_charge = rpc(RefundCharge, CardRefund, internal=True)
