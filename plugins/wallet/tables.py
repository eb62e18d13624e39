"""Piccolo tables of the wallet plugin (the schema itself is in migrations/wallet/).

Declared so that the plugin's tables are known to Piccolo and listed by
``shop plugins list``; the hot path uses SQL through kernel.db.
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Timestamptz, Varchar
from piccolo.columns.column_types import ForeignKey
from piccolo.table import Table


class WalletAccount(Table, tablename="wallet_accounts"):
    id = UUID(primary_key=True)
    kind = Varchar(length=10)  # 'user' (never negative) or 'system'
    owner = Varchar(length=100)  # user id or system account name
    currency = Varchar(length=3)
    balance_minor = BigInt(default=0)
    created_at = Timestamptz()


class WalletTransaction(Table, tablename="wallet_transactions"):
    id = UUID(primary_key=True)
    kind = Varchar(length=20)
    currency = Varchar(length=3)
    reference = Varchar(length=200, default="")
    memo = Varchar(length=400, default="")
    created_at = Timestamptz()


class WalletEntry(Table, tablename="wallet_entries"):
    id = UUID(primary_key=True)
    seq = BigInt()
    transaction_id = ForeignKey(WalletTransaction)
    account_id = ForeignKey(WalletAccount)
    kind = Varchar(length=20)
    amount_minor = BigInt()  # signed: + credit, - debit
    currency = Varchar(length=3)
    memo = Varchar(length=400, default="")
    created_at = Timestamptz()


class CardCharge(Table, tablename="card_charges"):
    id = UUID(primary_key=True)
    provider = Varchar(length=40)
    provider_ref = Varchar(length=200)
    brand = Varchar(length=20)
    last4 = Varchar(length=4)
    amount_minor = BigInt()
    currency = Varchar(length=3)
    status = Varchar(length=20)
    refunded_minor = BigInt(default=0)
    reference = Varchar(length=200)
    created_at = Timestamptz()


class CardRefund(Table, tablename="card_refunds"):
    id = UUID(primary_key=True)
    charge_id = ForeignKey(CardCharge)
    amount_minor = BigInt()
    reference = Varchar(length=200)
    created_at = Timestamptz()


TABLES = [WalletAccount, WalletTransaction, WalletEntry, CardCharge, CardRefund]
