"""Internal methods (debit, credit, convert) through the bus (card payments: tests/payments)."""

from __future__ import annotations

import pytest

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status
from plugins.wallet.contract import (
    ConvertAmount,
    Credit,
    Debit,
    ListWallets,
    TopUp,
    Wallets,
)
from plugins.wallet.ledger import verify
from tests.conftest import rt_of
from tests.wallet.conftest import ctx_for, new_user


async def balance(rt, user: str, currency: str = "EUR") -> int:
    wallets = await rt.bus.call(Wallets.list_wallets, ListWallets(), ctx_for(user))
    return next((w.balance_minor for w in wallets if w.currency == currency), 0)


async def test_internal_methods_refuse_direct_calls(wallet_client):
    rt = rt_of(await wallet_client())
    with pytest.raises(BusError) as exc:
        await rt.bus.call(Wallets.debit, Debit(user_id="x", currency="EUR", amount_minor=1, reference="r"),
                          ctx_for("x"))
    assert exc.value.status == Status.PERMISSION_DENIED


async def test_debit_pays_into_sales_and_refuses_overdrafts(wallet_client):
    rt = rt_of(await wallet_client())
    user = new_user()
    ctx = ctx_for(user)
    await rt.bus.call(Wallets.top_up, TopUp(currency="EUR", amount_minor=1000), ctx)
    receipt = await rt.bus.call(Wallets.debit, Debit(user_id=user, currency="EUR", amount_minor=600,
                                                     reference="order:1"), ctx.nested())
    assert receipt.balance_minor == 400 and receipt.transaction_id
    with pytest.raises(BusError) as exc:
        await rt.bus.call(Wallets.debit, Debit(user_id=user, currency="EUR", amount_minor=401, reference="order:2"),
                          ctx.nested())
    assert exc.value.reason == "INSUFFICIENT_FUNDS"
    assert await balance(rt, user) == 400


async def test_debit_joins_the_callers_transaction_and_rolls_back_with_it(wallet_client):
    rt = rt_of(await wallet_client())
    user = new_user()
    ctx = ctx_for(user)
    await rt.bus.call(Wallets.top_up, TopUp(currency="EUR", amount_minor=1000), ctx)
    with pytest.raises(RuntimeError):
        async with rt.db.transaction():
            await rt.bus.call(Wallets.debit, Debit(user_id=user, currency="EUR", amount_minor=700,
                                                   reference="order:rollback"), ctx.nested())
            raise RuntimeError("checkout failed after the payment")
    assert await balance(rt, user) == 1000
    assert await verify(rt.db) == []


async def test_credit_refunds_at_most_what_was_paid_under_the_reference(wallet_client):
    rt = rt_of(await wallet_client())
    user = new_user()
    ctx = ctx_for(user).nested()
    await rt.bus.call(Wallets.top_up, TopUp(currency="EUR", amount_minor=1000), ctx_for(user))
    await rt.bus.call(Wallets.debit, Debit(user_id=user, currency="EUR", amount_minor=600, reference="order:7"), ctx)
    r = await rt.bus.call(Wallets.credit, Credit(user_id=user, currency="EUR", amount_minor=200, reference="order:7"),
                          ctx)
    assert r.balance_minor == 600
    r = await rt.bus.call(Wallets.credit, Credit(user_id=user, currency="EUR", amount_minor=400, reference="order:7"),
                          ctx)
    assert r.balance_minor == 1000
    for ref in ("order:7", "order:never-paid"):
        with pytest.raises(BusError) as exc:
            await rt.bus.call(Wallets.credit, Credit(user_id=user, currency="EUR", amount_minor=1, reference=ref), ctx)
        assert exc.value.reason == "REFUND_EXCEEDS_PAYMENT"
    assert await balance(rt, user) == 1000


async def test_convert_is_exact_and_missing_rates_are_currency_mismatch(wallet_client):
    rt = rt_of(await wallet_client())
    ctx = CallContext().nested()
    r = await rt.bus.call(Wallets.convert, ConvertAmount(amount_minor=100, from_currency="EUR", to_currency="JPY"), ctx)
    assert (r.amount_minor, r.currency) == (162, "JPY")
    with pytest.raises(BusError) as exc:
        await rt.bus.call(Wallets.convert, ConvertAmount(amount_minor=100, from_currency="SEK", to_currency="EUR"), ctx)
    assert exc.value.reason == "CURRENCY_MISMATCH"


async def test_demo_top_ups_can_be_switched_off(wallet_client, settings):
    from tests.wallet.conftest import headers

    client = await wallet_client(settings_obj=settings.with_(plugin_config={"wallet": {"allow_demo_topup": False}}))
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1}, headers=headers(new_user()))
    # Free top-ups off: the top-up is paid through a payment intent, and nothing is credited yet.
    body = await r.json()
    assert r.status == 200 and body["balanceMinor"] == 0
    assert body["payment"]["status"] == "requires_payment_method" and body["payment"]["clientSecret"]
