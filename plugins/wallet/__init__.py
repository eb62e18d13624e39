"""Wallet plugin: multi-currency wallets on a double-entry ledger.

Contributes the ``shop.wallet.v1.Wallets`` bus service, REST routes under /api/wallets, GraphQL fields,
and ``shop ledger verify``.
See docs/wallets.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kernel.host.hookspecs import contribution, hookimpl
from kernel.host.plugin import Command, PluginContext, PluginInfo

from .contract import SCOPES, Wallets
from .money import Money, WalletConfig


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="wallet", version="0.2.0", description="multi-currency wallets on a double-entry ledger",
                      requires=("auth",), config=WalletConfig,
                      scopes=SCOPES)


shop_tables = contribution(__name__, ".tables:TABLES")


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import WalletServicer

    config: WalletConfig = ctx.config
    return [(Wallets, WalletServicer(ctx, Money(config), config))]


shop_graphql = contribution(__name__, ".graphql:graphql_part()")


async def _ledger_verify(args: argparse.Namespace, rt: Any) -> int:
    from .ledger import verify

    problems = await verify(rt.db)
    for p in problems:
        print(str(p), file=sys.stderr)
    if problems:
        print(f"ledger verify: {len(problems)} problem(s) found", file=sys.stderr)
        return 1
    counts = await rt.db.fetchrow(
        "SELECT (SELECT count(*) FROM wallet_accounts) AS accounts, (SELECT count(*) FROM wallet_transactions) AS txs")
    print(f"ledger ok: {counts['accounts']} accounts, {counts['txs']} transactions balance")
    return 0


@hookimpl
def shop_cli(ctx: PluginContext) -> list[Command]:
    return [
        Command(("ledger", "verify"),
                "recompute every wallet balance from the ledger and check every transaction sums to zero",
                lambda p: None, _ledger_verify,
                description="Exits 1 and names the offending rows when a balance differs from the sum of its "
                            "entries or a transaction does not sum to zero per currency."),
    ]
