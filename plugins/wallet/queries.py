"""Simple reads written with Piccolo's query builder, compiled once (``kernel.storage.db.Statement``).

scripts/bench/query_builder.py measured a statement at the cost of hand-written SQL;
a query built on every call costs about twice as much, so none is built per call.
Everything with row locks, bulk writes or arithmetic updates stays SQL (ledger.py).
"""

from __future__ import annotations

from kernel.storage.db import Arg, Statement

from .tables import CardRefund as R
from .tables import WalletAccount as A
from .tables import WalletEntry as E

USER_WALLETS = Statement(lambda: A.select(A.id, A.currency, A.balance_minor)
                         .where((A.kind == "user") & (A.owner == Arg("owner"))).order_by(A.currency))

USER_ACCOUNT = Statement(lambda: A.select(A.id)
                         .where((A.kind == "user") & (A.owner == Arg("owner")) & (A.currency == Arg("currency"))))

ENTRY_COUNT = Statement(lambda: E.count().where(E.account_id == Arg("account")))

REFUND_BY_REFERENCE = Statement(lambda: R.select(R.id, R.amount_minor)
                                .where((R.charge_id == Arg("charge")) & (R.reference == Arg("reference"))))
