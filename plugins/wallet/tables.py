"""Piccolo tables of the wallet plugin (the schema itself is in migrations/wallet/).

They describe the schema exactly (tests/test_tables.py compares them with the
migrated database). The ledger's postings use SQL through kernel.storage.db: row locks,
unnest bulk inserts and one-statement balance updates have no query-builder form.
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, BigSerial, ForeignKey, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from kernel.storage.columns import Char


class WalletAccount(Table, tablename="wallet_accounts"):
    id = UUID(primary_key=True)
    kind = Text()  # 'user' (never negative) or 'system'
    owner = Text()  # user id or system account name
    currency = Char(3)
    balance_minor = BigInt(default=0)
    created_at = Timestamptz()


class WalletTransaction(Table, tablename="wallet_transactions"):
    id = UUID(primary_key=True)
    kind = Text()
    currency = Char(3)
    reference = Text(default="")
    memo = Text(default="")
    created_at = Timestamptz()


class WalletEntry(Table, tablename="wallet_entries"):
    id = UUID(primary_key=True)
    seq = BigSerial()
    transaction_id = ForeignKey(WalletTransaction, null=False, on_delete=OnDelete.no_action)
    # References (id, currency) of the account: an entry is always in its account's currency.
    account_id = ForeignKey(WalletAccount, null=False, on_delete=OnDelete.no_action)
    kind = Text()
    amount_minor = BigInt()  # signed: + credit, - debit
    currency = Char(3)
    memo = Text(default="")
    created_at = Timestamptz()


class CardCharge(Table, tablename="card_charges"):
    id = UUID(primary_key=True)
    provider = Text()
    provider_ref = Text(default="")
    brand = Text()
    last4 = Char(4)
    amount_minor = BigInt()
    currency = Char(3)
    status = Text(default="succeeded")  # succeeded | partially_refunded | refunded
    refunded_minor = BigInt(default=0)
    reference = Text(default="")
    created_at = Timestamptz()


class CardRefund(Table, tablename="card_refunds"):
    id = UUID(primary_key=True)
    charge_id = ForeignKey(CardCharge, null=False, on_delete=OnDelete.no_action)
    amount_minor = BigInt()
    reference = Text()
    created_at = Timestamptz()


TABLES = [WalletAccount, WalletTransaction, WalletEntry, CardCharge, CardRefund]
