"""REST adapters over the Wallets service (the kernel builds the handlers)."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Wallets

TAGS = ("wallets",)

ROUTES = [
    Route("GET", "/api/wallets", Wallets.list_wallets, summary="The caller's wallets (one per currency)", tags=TAGS),
    Route("GET", "/api/wallets/currencies", Wallets.list_currencies,
          summary="Currencies the shop accepts, with their ISO 4217 minor-unit exponents", tags=TAGS),
    Route("POST", "/api/wallets/top-up", Wallets.top_up,
          summary="Top up a wallet (by card, or demo funding); honours Idempotency-Key", tags=TAGS),
    Route("POST", "/api/wallets/transfer", Wallets.transfer,
          summary="Transfer money to another customer by email; honours Idempotency-Key", tags=TAGS),
    Route("GET", "/api/wallets/{currency}/transactions", Wallets.list_transactions,
          summary="Ledger entries of one wallet, newest first", tags=TAGS),
]
