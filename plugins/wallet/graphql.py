"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path

from kernel.web.graphql import GraphQLPart, bus_field

from .contract import Wallets

SDL = (Path(__file__).parent / "schema.graphql").read_text()


def graphql_part() -> GraphQLPart:
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.walletBalances": bus_field(Wallets.list_wallets),
            "Query.walletCurrencies": bus_field(Wallets.list_currencies),
            "Query.walletTransactions": bus_field(Wallets.list_transactions),
            "Mutation.topUpWallet": bus_field(Wallets.top_up),
            "Mutation.transferMoney": bus_field(Wallets.transfer),
        },
    )
