"""sales_stripes: wallet payments spread over N sales accounts (one hot row each), refunds come back from the
buyer's own, and the ledger stays balanced, also under concurrent payments. Real PostgreSQL."""

from __future__ import annotations

import asyncio

from plugins.wallet.contract import Credit, Debit, TopUp, Wallets
from plugins.wallet.ledger import SALES, sales_owner, verify
from tests.conftest import rt_of
from tests.wallet.conftest import ctx_for, new_user


def test_one_buyer_always_meets_the_same_sales_account() -> None:
    assert sales_owner("anyone", 1) == SALES
    owners = {sales_owner(f"u{i}", 4) for i in range(200)}
    assert owners == {SALES, f"{SALES}#1", f"{SALES}#2", f"{SALES}#3"}
    assert all(sales_owner(f"u{i}", 4) == sales_owner(f"u{i}", 4) for i in range(50))


async def test_striped_payments_and_refunds_keep_the_ledger_balanced(wallet_client) -> None:
    rt = rt_of(await wallet_client(plugin_config={"wallet": {"sales_stripes": 4}}))
    users = [new_user() for _ in range(24)]
    for u in users:
        await rt.bus.call(Wallets.top_up, TopUp(currency="EUR", amount_minor=1000), ctx_for(u))

    async def pay(u: str) -> None:
        async with rt.db.transaction():
            await rt.bus.call(Wallets.debit, Debit(user_id=u, currency="EUR", amount_minor=300,
                                                   reference=f"order:{u}"), ctx_for(u).nested())

    await asyncio.gather(*(pay(u) for u in users))
    rows = await rt.db.fetch("SELECT owner, balance_minor FROM wallet_accounts WHERE kind = 'system' "
                             "AND owner LIKE 'system:sales%' AND currency = 'EUR'")
    by_owner = {r["owner"]: r["balance_minor"] for r in rows}
    expected: dict[str, int] = {}
    for u in users:
        expected[sales_owner(u, 4)] = expected.get(sales_owner(u, 4), 0) + 300
    for owner, paid in expected.items():
        assert by_owner[owner] >= paid  # (other tests of this session may have paid into system:sales too)
    assert len(expected) > 1
    # A refund comes back from the account the payment went to.
    u = users[0]
    before = by_owner[sales_owner(u, 4)]
    r = await rt.bus.call(Wallets.credit, Credit(user_id=u, currency="EUR", amount_minor=300, reference=f"order:{u}"),
                          ctx_for(u).nested())
    assert r.balance_minor == 1000
    after = await rt.db.fetchval("SELECT balance_minor FROM wallet_accounts WHERE kind = 'system' AND owner = $1 "
                                 "AND currency = 'EUR'", sales_owner(u, 4))
    assert after == before - 300
    assert await verify(rt.db) == []
