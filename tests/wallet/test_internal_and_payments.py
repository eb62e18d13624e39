"""Internal methods (debit, credit, convert) and the card gateway, through the bus."""

from __future__ import annotations

import pytest

from kernel.context import CallContext
from kernel.status import BusError, Status
from plugins.wallet.contract import (
    Card,
    ChargeCard,
    ConvertAmount,
    Credit,
    Debit,
    ListWallets,
    Payments,
    RefundCharge,
    TopUp,
    Wallets,
)
from plugins.wallet.ledger import verify
from tests.conftest import rt_of
from tests.wallet.conftest import ctx_for, new_user

CARD = dict(exp_month=12, exp_year=2031, cvc="123")


def card(number: str) -> Card:
    return Card(number=number, **CARD)


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


async def test_test_cards_succeed_decline_and_fail_as_documented(wallet_client):
    rt = rt_of(await wallet_client())
    ctx = CallContext().nested()

    async def charge(number: str):
        return await rt.bus.call(Payments.charge_card, ChargeCard(card=card(number), currency="EUR", amount_minor=999,
                                                                  reference="order:c"), ctx)

    ok = await charge("4242424242424242")
    assert (ok.brand, ok.last4, ok.amount_minor, ok.currency) == ("visa", "4242", 999, "EUR")
    stored = await rt.db.fetchrow("SELECT * FROM card_charges WHERE id = $1", ok.charge_id)
    assert stored["last4"] == "4242" and stored["status"] == "succeeded"
    assert "4242424242424242" not in repr(dict(stored))
    with pytest.raises(BusError) as exc:
        await charge("4000000000000002")
    assert (exc.value.status, exc.value.reason) == (Status.FAILED_PRECONDITION, "CARD_DECLINED")
    with pytest.raises(BusError) as exc:
        await charge("4000000000009995")
    assert exc.value.reason == "CARD_DECLINED" and "insufficient funds" in exc.value.message
    with pytest.raises(BusError) as exc:
        await charge("4000000000000119")
    assert (exc.value.status, exc.value.reason) == (Status.UNAVAILABLE, "CARD_PROCESSING_ERROR")
    with pytest.raises(BusError) as exc:
        await charge("4242424242424241")
    assert exc.value.field_errors[0][0] == "card.number"


async def test_a_charge_refunds_once_and_never_beyond_its_amount(wallet_client):
    rt = rt_of(await wallet_client())
    ctx = CallContext().nested()
    ch = await rt.bus.call(Payments.charge_card, ChargeCard(card=card("4242424242424242"), currency="EUR",
                                                            amount_minor=1000, reference="order:r"), ctx)
    first = await rt.bus.call(Payments.refund_charge, RefundCharge(charge_id=ch.charge_id, amount_minor=1000,
                                                                   reference="cancel:1"), ctx)
    again = await rt.bus.call(Payments.refund_charge, RefundCharge(charge_id=ch.charge_id, amount_minor=1000,
                                                                   reference="cancel:1"), ctx)
    assert again == first  # the same refund, not a second one
    with pytest.raises(BusError) as exc:
        await rt.bus.call(Payments.refund_charge, RefundCharge(charge_id=ch.charge_id, amount_minor=1,
                                                               reference="cancel:2"), ctx)
    assert (exc.value.status, exc.value.reason) == (Status.FAILED_PRECONDITION, "REFUND_EXCEEDS_CHARGE")
    row = await rt.db.fetchrow("SELECT refunded_minor, status FROM card_charges WHERE id = $1", ch.charge_id)
    assert (row["refunded_minor"], row["status"]) == (1000, "refunded")
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(BusError) as exc:
            await rt.bus.call(Payments.refund_charge, RefundCharge(charge_id=bad, amount_minor=1, reference="x"), ctx)
        assert exc.value.status == Status.NOT_FOUND


async def test_card_top_up_credits_the_wallet_from_card_clearing(wallet_client):
    from tests.wallet.conftest import headers

    client = await wallet_client()
    user = new_user()
    body = {"currency": "GBP", "amountMinor": 2500,
            "card": {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2031, "cvc": "123"}}
    r = await client.post("/api/wallets/top-up", json=body, headers=headers(user))
    assert r.status == 200, await r.text()
    assert (await r.json())["balanceMinor"] == 2500
    r = await client.get("/api/wallets/GBP/transactions", headers=headers(user))
    assert "visa ending 4242" in (await r.json())["items"][0]["memo"]
    for number, status, reason in (("4000000000000002", 409, "CARD_DECLINED"),
                                   ("4000000000000119", 503, "CARD_PROCESSING_ERROR")):
        r = await client.post("/api/wallets/top-up", json={**body, "card": {**body["card"], "number": number}},
                              headers=headers(user))
        assert r.status == status and (await r.json())["reason"] == reason
    for card_patch, field in (({"number": "4242424242424241"}, "card.number"),
                              ({"expYear": 2020}, "card.expMonth"),  # expired
                              ({"expYear": 1999}, "card.expYear"),
                              ({"expYear": 2026, "expMonth": 1}, "card.expMonth"),
                              ({"expMonth": 13}, "card.expMonth"),
                              ({"cvc": "12a"}, "card.cvc")):
        r = await client.post("/api/wallets/top-up", json={**body, "card": {**body["card"], **card_patch}},
                              headers=headers(user))
        assert r.status == 400, card_patch
        assert [e["field"] for e in (await r.json())["errors"]] == [field]
    rt = rt_of(client)
    assert await balance(rt, user, "GBP") == 2500
    assert await verify(rt.db) == []


async def test_demo_top_ups_can_be_switched_off(wallet_client, settings):
    from tests.wallet.conftest import headers

    client = await wallet_client(settings_obj=settings.with_(plugin_config={"wallet": {"allow_demo_topup": False}}))
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1}, headers=headers(new_user()))
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "card"
