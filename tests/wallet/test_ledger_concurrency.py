"""The ledger under real concurrency on PostgreSQL, and `shop ledger verify`."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from kernel.core.status import BusError
from plugins.wallet.contract import ListWallets, TopUp, Transfer, Wallets
from plugins.wallet.ledger import verify
from tests.conftest import rt_of
from tests.wallet.conftest import ctx_for, email, headers, new_user

ROOT = Path(__file__).resolve().parents[2]


async def test_200_concurrent_transfers_keep_the_total_and_never_go_negative(wallet_client):
    rt = rt_of(await wallet_client())
    users = [new_user() for _ in range(10)]
    for u in users:
        await rt.bus.call(Wallets.top_up, TopUp(currency="EUR", amount_minor=10_000), ctx_for(u))
    rng = random.Random(4217)
    plan = []
    for _ in range(200):
        a, b = rng.sample(users, 2)
        plan.append((a, b, rng.randint(1, 4_000)))

    async def one(a: str, b: str, amount: int):
        try:
            return await rt.bus.call(Wallets.transfer, Transfer(to_email=email(b), currency="EUR", amount_minor=amount),
                                     ctx_for(a))
        except BusError as exc:
            return exc

    results = await asyncio.gather(*(one(*p) for p in plan))
    errors = [r for r in results if isinstance(r, BusError)]
    # The only acceptable failure is the business one; no deadlock, no ABORTED, no 500.
    assert {e.reason for e in errors} <= {"INSUFFICIENT_FUNDS"}, errors
    assert len(errors) < len(plan)
    expected = {u: 10_000 for u in users}
    for (a, b, amount), r in zip(plan, results, strict=True):
        if not isinstance(r, BusError):
            expected[a] -= amount
            expected[b] += amount
    balances = {}
    for u in users:
        wallets = await rt.bus.call(Wallets.list_wallets, ListWallets(), ctx_for(u))
        balances[u] = sum(w.balance_minor for w in wallets if w.currency == "EUR")
    assert balances == expected
    assert sum(balances.values()) == 100_000
    assert min(balances.values()) >= 0
    assert await verify(rt.db) == []


async def test_opposite_transfers_between_two_users_over_http_never_deadlock(wallet_client):
    client = await wallet_client()
    a, b = new_user(), new_user()
    for u in (a, b):
        r = await client.post("/api/wallets/top-up", json={"currency": "USD", "amountMinor": 50_000},
                              headers=headers(u))
        assert r.status == 200
    calls = []
    for i in range(60):
        src, dst = (a, b) if i % 2 else (b, a)
        calls.append(client.post("/api/wallets/transfer", headers=headers(src),
                                 json={"toEmail": email(dst), "currency": "USD", "amountMinor": 100 + i}))
    responses = await asyncio.gather(*calls)
    assert [r.status for r in responses] == [200] * 60
    total = 0
    for u in (a, b):
        r = await client.get("/api/wallets", headers=headers(u))
        total += (await r.json())[0]["balanceMinor"]
    assert total == 100_000
    assert await verify(rt_of(client).db) == []


async def test_concurrent_replays_of_one_idempotency_key_move_money_once(wallet_client):
    client = await wallet_client()
    a, b = new_user(), new_user()
    await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1000}, headers=headers(a))
    body = {"toEmail": email(b), "currency": "EUR", "amountMinor": 300}
    responses = await asyncio.gather(*(
        client.post("/api/wallets/transfer", json=body, headers=headers(a, **{"Idempotency-Key": "same-key"}))
        for _ in range(8)
    ))
    assert [r.status for r in responses] == [200] * 8
    bodies = [await r.json() for r in responses]
    assert all(x == bodies[0] for x in bodies)
    r = await client.get("/api/wallets", headers=headers(b))
    assert (await r.json())[0]["balanceMinor"] == 300


async def test_the_database_refuses_an_unbalanced_transaction(wallet_client):
    rt = rt_of(await wallet_client())
    user = new_user()
    wallet = await rt.bus.call(Wallets.top_up, TopUp(currency="EUR", amount_minor=10), ctx_for(user))
    with pytest.raises(asyncpg.exceptions.CheckViolationError, match="does not balance"):
        async with rt.db.transaction():
            tx = await rt.db.fetchval(
                "INSERT INTO wallet_transactions (kind, currency) VALUES ('adjustment', 'EUR') RETURNING id")
            await rt.db.execute("INSERT INTO wallet_entries (transaction_id, account_id, kind, amount_minor, currency) "
                                "VALUES ($1, $2, 'adjustment', 5, 'EUR')", tx, wallet.id)
    assert await rt.db.fetchval("SELECT count(*) FROM wallet_entries WHERE account_id = $1", wallet.id) == 1
    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await rt.db.execute("UPDATE wallet_accounts SET balance_minor = -1 WHERE id = $1", wallet.id)
    with pytest.raises(asyncpg.exceptions.PostgresError, match="append-only"):
        await rt.db.execute("DELETE FROM wallet_entries WHERE account_id = $1", wallet.id)
    assert await verify(rt.db) == []


def _cli(database_url: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SHOP_PLUGINS_ENABLED": "auth,wallet",
           "SHOP_HOME": str(ROOT)}
    env.pop("SHOP_CONFIG", None)
    shop = Path(sys.executable).parent / "shop"
    return subprocess.run([str(shop), "ledger", "verify"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


async def test_a_corrupted_balance_is_reported_by_verify_and_the_cli_exits_nonzero(wallet_client, database_url,
                                                                                 servers):
    rt = rt_of(await wallet_client())
    user = new_user()
    wallet = await rt.bus.call(Wallets.top_up, TopUp(currency="CHF", amount_minor=700), ctx_for(user))
    ok = await asyncio.to_thread(_cli, database_url, servers["redis"])
    assert ok.returncode == 0, ok.stderr
    assert "ledger ok" in ok.stdout
    # Corrupt one balance (the database is shared by the session: restore it whatever happens).
    await rt.db.execute("UPDATE wallet_accounts SET balance_minor = balance_minor + 1 WHERE id = $1", wallet.id)
    try:
        problems = await verify(rt.db)
        assert [(p.check, p.row) for p in problems] == [("balance_mismatch", f"wallet_accounts:{wallet.id}")]
        assert "balance_minor 701 but its entries sum to 700" in str(problems[0])
        bad = await asyncio.to_thread(_cli, database_url, servers["redis"])
    finally:
        await rt.db.execute("UPDATE wallet_accounts SET balance_minor = balance_minor - 1 WHERE id = $1", wallet.id)
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    assert f"wallet_accounts:{wallet.id}" in bad.stderr
    assert await verify(rt.db) == []
