"""What other plugins may import from wallet: wallets and the ledger (card payments: plugins.payments)."""

from __future__ import annotations

from typing import Literal

from kernel.core.messages import Timestamp, Uuid, constraint, message, page_field, page_size_field
from kernel.core.scopes import Scope
from kernel.core.service import Http, Service, rpc
from plugins.payments.contract import Ack, PaymentOutcome

# The scopes this plugin enforces (docs/plugins.md, "Scopes"); the consent screen shows the descriptions.
SCOPES = (
    Scope("wallet:read", "See your wallet balances and transactions"),
    Scope("wallet:write", "Top up your wallet and send money from it"),
)

CURRENCY = r"[A-Z]{3}"
EntryKind = Literal["topup", "transfer_in", "transfer_out", "payment", "refund"]


@message
class TopUpPayment:
    """The payment intent of a paid top-up: confirm it (POST /api/payments/{id}/confirm) to be credited."""

    id: Uuid
    provider: str
    status: str
    client_secret: str | None = None


@message
class Wallet:
    """A wallet: one per customer per currency. Amounts are integer minor units (GraphQL: Long, 64-bit)."""

    id: Uuid
    currency: str
    balance_minor: int
    payment: TopUpPayment | None = None  # a paid top-up waiting for its payment (balance not yet credited)


@message(graphql_input="CardPaymentInput")
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
    # Demo mode only (seed compatibility): a raw test card, paid at once through the test provider.
    # Otherwise a top-up outside demo mode answers with a payment intent to confirm.
    card: Card | None = None


@message
class Transfer:
    to_email: str = constraint(min_len=3, max_len=254, strip=True)
    currency: str = constraint(pattern=CURRENCY)
    amount_minor: int
    memo: str | None = constraint(default=None, max_len=200)


@message(graphql="Transfer")
class TransferResult:
    id: Uuid = constraint(doc="The ledger transaction id.")
    currency: str
    amount_minor: int
    to_email: str
    balance_minor: int = constraint(doc="The sender's balance after the transfer.")
    created_at: Timestamp


@message
class ListTransactions:
    currency: str = constraint(pattern=CURRENCY)
    page: int = page_field()
    page_size: int = page_size_field()


@message
class LedgerEntry:
    id: Uuid
    transaction_id: Uuid
    kind: EntryKind
    amount_minor: int = constraint(doc="Signed: positive credits the wallet, negative debits it.")
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
    # The ledger transaction's id, chosen by the caller (a UUID) so it can record it before paying.
    transaction_id: str | None = constraint(default=None, min_len=36, max_len=36)


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


@message(graphql="WalletCurrency")
class CurrencyInfo:
    """A currency the shop accepts; exponent is the ISO 4217 minor unit (JPY 0, EUR 2, BHD 3)."""

    code: str
    exponent: int  # ISO 4217 minor-unit exponent: JPY 0, EUR 2, BHD 3


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
TAGS = ("wallets",)


class Wallets(Service, package="shop.wallet.v1"):
    list_wallets = rpc(ListWallets, tuple[Wallet, ...], graphql="Query.walletBalances", scope="wallet:read", user=True,
                       rest=Http("GET /api/wallets", "The caller's wallets (one per currency)", tags=TAGS))
    top_up = rpc(TopUp, Wallet, graphql="Mutation.topUpWallet", scope="wallet:write", user=True, idempotent=True,
                 rate_limit="money",
                 rest=Http("POST /api/wallets/top-up", tags=TAGS,
                           summary="Top up a wallet (by card, or demo funding); honours Idempotency-Key"))
    transfer = rpc(Transfer, TransferResult, graphql="Mutation.transferMoney", scope="wallet:write", user=True, idempotent=True,
                   rate_limit="money",
                   rest=Http("POST /api/wallets/transfer", tags=TAGS,
                             summary="Transfer money to another customer by email; honours Idempotency-Key"))
    list_transactions = rpc(ListTransactions, LedgerPage, graphql="Query.walletTransactions", scope="wallet:read", user=True,
                            rest=Http("GET /api/wallets/{currency}/transactions", tags=TAGS,
                                      summary="Ledger entries of one wallet, newest first"))
    # Internal: orders calls these inside its checkout/cancel transaction.
    debit = rpc(Debit, LedgerReceipt, internal=True)
    credit = rpc(Credit, LedgerReceipt, internal=True)
    convert = rpc(ConvertAmount, Converted, internal=True)
    # Added: the exact rates into a currency, for catalogs that show and sort display prices (catalog v2).
    rates_into = rpc(GetRates, Rates, internal=True)
    # Added: the currencies the shop accepts, for top-up forms (GET /api/wallets/currencies).
    list_currencies = rpc(ListCurrencies, tuple[CurrencyInfo, ...], graphql="Query.walletCurrencies",
                          rest=Http("GET /api/wallets/currencies", tags=TAGS,
                                    summary="Currencies the shop accepts, with their ISO 4217 minor-unit exponents"))
    # Told by payments when a top-up's intent is paid (credits the wallet once), expires or is cancelled.
    payment_outcome = rpc(PaymentOutcome, Ack, internal=True)
