"""The double-entry ledger: posting transactions, reading them, verifying the books.

Every movement of money is one ledger transaction with two or more entries whose
amounts sum to zero per currency. Each entry belongs to one account: a user's
wallet (``kind = 'user'``, never negative) or a system account (``kind =
'system'``: ``system:funding``, ``system:sales``, ``system:card_clearing``), which
may go negative. An account's ``balance_minor`` is a cached sum of its entries,
updated in the same transaction that inserts them; :func:`verify` recomputes it.

Locking (why concurrent transfers never deadlock): accounts that must exist are
created first, in a fixed order of (kind, owner), without holding any row locks;
then every account a transaction touches is locked with one
``SELECT ... ORDER BY id FOR UPDATE``, so any two transactions take their locks in
the same order.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from kernel.core.status import BusError, Status, precondition

log = logging.getLogger("shop.plugins.wallet")

FUNDING = "system:funding"  # demo top-ups come from here (goes negative by what was handed out)
SALES = "system:sales"  # wallet payments for orders go here; refunds come back from here


def sales_owner(user_id: str, stripes: int) -> str:
    """The sales account a buyer's wallet payments go to and their refunds come back from: always the same
    for one buyer (so a refund meets its payment), spread over ``stripes`` accounts (``sales_stripes``)."""
    k = zlib.crc32(user_id.encode()) % stripes if stripes > 1 else 0
    return SALES if k == 0 else f"{SALES}#{k}"
CARD_CLEARING = "system:card_clearing"  # card top-ups: money the card gateway owes the shop

T = TypeVar("T")

# Errors that mean "another transaction got in the way": retried when we own the transaction.
RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a posting: ``amount_minor`` > 0 credits the account, < 0 debits it."""

    kind: str  # 'user' or 'system'
    owner: str  # user id, or a system account name
    amount_minor: int
    entry_kind: str  # topup, transfer_in, transfer_out, payment, refund
    memo: str = ""


@dataclass(frozen=True, slots=True)
class Posted:
    transaction_id: str
    created_at: datetime
    balances: dict[tuple[str, str], int]  # (kind, owner) -> balance after
    account_ids: dict[tuple[str, str], str]


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def atomic(db: Any, fn: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
    """Run ``fn`` in a transaction (joining the caller's when there is one).

    A deadlock or serialization failure is retried when this call owns the
    transaction; inside someone else's it becomes ABORTED (409, "try again"),
    never a 500. A CHECK violation on a user balance is INSUFFICIENT_FUNDS.
    """
    attempts = 3 if retry and not db.in_transaction else 1
    for attempt in range(attempts):
        try:
            async with db.transaction():
                return await fn()
        except RETRYABLE as exc:
            log.warning("ledger_conflict", extra={"attempt": attempt + 1, "error": type(exc).__name__})
            if attempt + 1 >= attempts:
                raise BusError(Status.ABORTED, "The wallet was busy; try again.", reason="CONCURRENT_UPDATE") from exc
            await asyncio.sleep(0.005 * (attempt + 1))
        except asyncpg.exceptions.CheckViolationError as exc:
            if exc.constraint_name == "wallet_accounts_user_not_negative":
                raise precondition("INSUFFICIENT_FUNDS", "Not enough money in the wallet.") from exc
            raise
    raise AssertionError("unreachable")


async def _ensure_accounts(db: Any, currency: str, keys: Sequence[tuple[str, str]]) -> None:
    """Create missing accounts, in (kind, owner) order, before any row lock is taken."""
    kinds, owners = [k for k, _ in keys], [o for _, o in keys]
    rows = await db.fetch(
        "SELECT kind, owner FROM wallet_accounts WHERE currency = $1 "
        "AND (kind, owner) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        currency, kinds, owners,
    )
    present = {(r["kind"], r["owner"]) for r in rows}
    for kind, owner in sorted(set(keys) - present):
        await db.execute(
            "INSERT INTO wallet_accounts (kind, owner, currency) VALUES ($1, $2, $3) "
            "ON CONFLICT (kind, owner, currency) DO NOTHING",
            kind, owner, currency,
        )


async def post(db: Any, *, kind: str, currency: str, legs: Sequence[Leg], reference: str = "",
               memo: str = "", create: Sequence[tuple[str, str]] = (),
               check: Callable[[dict[tuple[str, str], Any]], Awaitable[None]] | None = None) -> Posted:
    """Post one balanced transaction. Must run inside a transaction (see :func:`atomic`).

    Accounts of credited legs and those named in ``create`` are created on first
    use; a debited user account that does not exist has a balance of zero, so
    debiting it is INSUFFICIENT_FUNDS. ``check(accounts)`` runs once every
    account is locked, before anything is written (e.g. the refund bound).
    """
    if len(legs) < 2 or sum(leg.amount_minor for leg in legs) != 0 or any(leg.amount_minor == 0 for leg in legs):
        raise BusError(Status.INTERNAL, f"unbalanced posting {kind}: {legs!r}")
    assert db.in_transaction, "ledger.post needs a transaction"
    keys = sorted({(leg.kind, leg.owner) for leg in legs})
    must_exist = {(leg.kind, leg.owner) for leg in legs if leg.amount_minor > 0 or leg.kind == "system"}
    must_exist |= set(create)
    await _ensure_accounts(db, currency, sorted(must_exist))
    rows = await db.fetch(
        "SELECT id::text AS id, kind, owner, balance_minor FROM wallet_accounts WHERE currency = $1 "
        "AND (kind, owner) IN (SELECT * FROM unnest($2::text[], $3::text[])) ORDER BY id FOR UPDATE",
        currency, [k for k, _ in keys], [o for _, o in keys],
    )
    accounts = {(r["kind"], r["owner"]): r for r in rows}
    deltas: dict[tuple[str, str], int] = {}
    for leg in legs:
        deltas[(leg.kind, leg.owner)] = deltas.get((leg.kind, leg.owner), 0) + leg.amount_minor
    for key, delta in deltas.items():
        row = accounts.get(key)
        balance = 0 if row is None else row["balance_minor"]
        if key[0] == "user" and balance + delta < 0:
            raise precondition("INSUFFICIENT_FUNDS",
                               f"Not enough money in the {currency} wallet: the balance is {balance}, "
                               f"{-delta} is needed.")
    if check is not None:
        await check(accounts)
    tx = await db.fetchrow(
        "INSERT INTO wallet_transactions (kind, currency, reference, memo) VALUES ($1, $2, $3, $4) "
        "RETURNING id::text AS id, created_at",
        kind, currency, reference, memo,
    )
    await db.execute(
        "INSERT INTO wallet_entries (transaction_id, account_id, kind, amount_minor, currency, memo) "
        "SELECT $1::uuid, a, k, m, $2, t FROM unnest($3::uuid[], $4::text[], $5::bigint[], $6::text[]) AS u(a, k, m, t)",
        tx["id"], currency,
        [accounts[(leg.kind, leg.owner)]["id"] for leg in legs],
        [leg.entry_kind for leg in legs],
        [leg.amount_minor for leg in legs],
        [leg.memo for leg in legs],
    )
    updated = await db.fetch(
        "UPDATE wallet_accounts a SET balance_minor = a.balance_minor + d.delta "
        "FROM unnest($1::uuid[], $2::bigint[]) AS d(id, delta) WHERE a.id = d.id "
        "RETURNING a.id::text AS id, a.kind, a.owner, a.balance_minor",
        [accounts[k]["id"] for k in deltas], list(deltas.values()),
    )
    return Posted(
        transaction_id=tx["id"],
        created_at=tx["created_at"],
        balances={(r["kind"], r["owner"]): r["balance_minor"] for r in updated},
        account_ids={(r["kind"], r["owner"]): r["id"] for r in updated},
    )


# ------------------------------------------------------------------ verification


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the books, naming the offending row."""

    check: str  # balance_mismatch, unbalanced_transaction, too_few_entries, currency_mismatch, negative_user_balance
    row: str  # e.g. "wallet_accounts:<id>"
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.row}: {self.detail}"


async def verify(db: Any) -> list[Problem]:
    """Recompute every balance from the entries and check every transaction balances.

    Runs in one REPEATABLE READ, read-only snapshot so that concurrent postings
    never show up as false alarms. Returns [] when the books are right.
    """
    problems: list[Problem] = []
    async with db.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for check, table, sql, detail in _CHECKS:
            problems.extend(Problem(check, f"{table}:{r['id']}", detail(r)) for r in await conn.fetch(sql))
    return problems


# (check, table of the offending row, query of the offending rows (with their id), what is wrong with one)
_CHECKS: tuple[tuple[str, str, str, Callable[[Any], str]], ...] = (
    ("balance_mismatch", "wallet_accounts",
     "SELECT a.id::text AS id, a.kind, a.owner, a.currency, a.balance_minor, "
     "COALESCE(s.total, 0) AS total FROM wallet_accounts a "
     "LEFT JOIN (SELECT account_id, sum(amount_minor) AS total FROM wallet_entries GROUP BY account_id) s "
     "ON s.account_id = a.id WHERE a.balance_minor <> COALESCE(s.total, 0) ORDER BY a.id",
     lambda r: f"{r['kind']} {r['owner']} {r['currency']}: balance_minor {r['balance_minor']} "
               f"but its entries sum to {r['total']}"),
    ("unbalanced_transaction", "wallet_transactions",
     "SELECT transaction_id::text AS id, currency, sum(amount_minor) AS total FROM wallet_entries "
     "GROUP BY transaction_id, currency HAVING sum(amount_minor) <> 0 ORDER BY 1, 2",
     lambda r: f"entries in {r['currency']} sum to {r['total']}, not 0"),
    ("too_few_entries", "wallet_transactions",
     "SELECT t.id::text AS id, count(e.id) AS n FROM wallet_transactions t "
     "LEFT JOIN wallet_entries e ON e.transaction_id = t.id GROUP BY t.id HAVING count(e.id) < 2 ORDER BY 1",
     lambda r: f"has {r['n']} entries; a transaction needs at least 2"),
    ("currency_mismatch", "wallet_entries",
     "SELECT e.id::text AS id, e.currency, a.currency AS account_currency FROM wallet_entries e "
     "JOIN wallet_accounts a ON a.id = e.account_id WHERE e.currency <> a.currency ORDER BY 1",
     lambda r: f"entry in {r['currency']} on an account in {r['account_currency']}"),
    ("negative_user_balance", "wallet_accounts",
     "SELECT id::text AS id, owner, currency, balance_minor FROM wallet_accounts "
     "WHERE kind = 'user' AND balance_minor < 0 ORDER BY 1",
     lambda r: f"user {r['owner']} {r['currency']} balance is {r['balance_minor']}"),
)
