"""Wallets over REST: top-up, transfer, listing, validation, idempotency."""

from __future__ import annotations

import pytest

from plugins.wallet.ledger import verify
from tests.conftest import rt_of
from tests.wallet.conftest import email, headers, new_user


async def top_up(client, user: str, amount: int, currency: str = "EUR", **extra) -> dict:
    r = await client.post("/api/wallets/top-up", json={"currency": currency, "amountMinor": amount},
                          headers=headers(user, **extra))
    assert r.status == 200, await r.text()
    return await r.json()


async def test_top_up_creates_the_wallet_and_lists_it(wallet_client):
    client = await wallet_client()
    user = new_user()
    r = await client.get("/api/wallets", headers=headers(user))
    assert r.status == 200 and await r.json() == []
    w = await top_up(client, user, 1500)
    assert w["currency"] == "EUR" and w["balanceMinor"] == 1500 and w["id"]
    w2 = await top_up(client, user, 250)
    assert w2["id"] == w["id"] and w2["balanceMinor"] == 1750
    await top_up(client, user, 7, currency="JPY")
    r = await client.get("/api/wallets", headers=headers(user))
    assert await r.json() == [{"id": w["id"], "currency": "EUR", "balanceMinor": 1750, "payment": None},
                              {"id": (await r.json())[1]["id"], "currency": "JPY", "balanceMinor": 7, "payment": None}]


async def test_wallets_need_a_signed_in_user(wallet_client):
    client = await wallet_client()
    r = await client.get("/api/wallets")
    assert r.status == 401
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1})
    assert r.status == 401


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", 100_000_001, 9223372036854775808, None, True])
async def test_bad_top_up_amounts_are_400_naming_amountMinor(wallet_client, amount):
    client = await wallet_client()
    user = new_user()
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": amount},
                          headers=headers(user))
    assert r.status == 400, await r.text()
    body = await r.json()
    assert r.content_type == "application/problem+json"
    assert body["code"] == "INVALID_ARGUMENT"
    assert [e["field"] for e in body["errors"]] == ["amountMinor"]
    r = await client.get("/api/wallets", headers=headers(user))
    assert await r.json() == []


@pytest.mark.parametrize("currency", ["XXX", "eur", "EURO", "", "SEK", 978])
async def test_unknown_currencies_are_400_naming_currency(wallet_client, currency):
    client = await wallet_client()
    user = new_user()
    for path, body in (("/api/wallets/top-up", {"currency": currency, "amountMinor": 100}),
                       ("/api/wallets/transfer", {"currency": currency, "amountMinor": 100,
                                                  "toEmail": email(new_user())})):
        r = await client.post(path, json=body, headers=headers(user))
        assert r.status == 400, await r.text()
        assert [e["field"] for e in (await r.json())["errors"]] == ["currency"]


async def test_unknown_currency_in_transactions_path_is_400(wallet_client):
    client = await wallet_client()
    for cur in ("XXX", "eur", "EURO"):
        r = await client.get(f"/api/wallets/{cur}/transactions", headers=headers(new_user()))
        assert r.status == 400
        assert [e["field"] for e in (await r.json())["errors"]] == ["currency"]


async def test_transfer_moves_money_between_users_and_records_both_sides(wallet_client):
    client = await wallet_client()
    alice, bob = new_user(), new_user()
    await top_up(client, alice, 1000)
    r = await client.post("/api/wallets/transfer", headers=headers(alice),
                          json={"toEmail": email(bob).upper(), "currency": "EUR", "amountMinor": 300, "memo": "lunch"})
    assert r.status == 200, await r.text()
    t = await r.json()
    assert t["amountMinor"] == 300 and t["balanceMinor"] == 700 and t["toEmail"] == email(bob)
    assert t["currency"] == "EUR" and t["id"] and t["createdAt"].endswith("Z")
    r = await client.get("/api/wallets", headers=headers(bob))
    assert [(w["currency"], w["balanceMinor"]) for w in await r.json()] == [("EUR", 300)]
    r = await client.get("/api/wallets/EUR/transactions", headers=headers(alice))
    page = await r.json()
    assert page["total"] == 2 and page["page"] == 1 and page["pageSize"] == 20
    assert [(e["kind"], e["amountMinor"]) for e in page["items"]] == [("transfer_out", -300), ("topup", 1000)]
    assert page["items"][0]["transactionId"] == t["id"] and "lunch" in page["items"][0]["memo"]
    r = await client.get("/api/wallets/EUR/transactions", headers=headers(bob))
    items = (await r.json())["items"]
    assert [(e["kind"], e["amountMinor"], e["transactionId"]) for e in items] == [("transfer_in", 300, t["id"])]


async def test_transfer_beyond_the_balance_is_insufficient_funds_and_moves_nothing(wallet_client):
    client = await wallet_client()
    alice, bob = new_user(), new_user()
    await top_up(client, alice, 100)
    r = await client.post("/api/wallets/transfer", headers=headers(alice),
                          json={"toEmail": email(bob), "currency": "EUR", "amountMinor": 101})
    assert r.status == 409
    body = await r.json()
    assert body["code"] == "FAILED_PRECONDITION" and body["reason"] == "INSUFFICIENT_FUNDS"
    # a currency the sender has no wallet in: balance 0
    r = await client.post("/api/wallets/transfer", headers=headers(alice),
                          json={"toEmail": email(bob), "currency": "GBP", "amountMinor": 1})
    assert r.status == 409 and (await r.json())["reason"] == "INSUFFICIENT_FUNDS"
    r = await client.get("/api/wallets", headers=headers(alice))
    assert [(w["currency"], w["balanceMinor"]) for w in await r.json()] == [("EUR", 100)]
    r = await client.get("/api/wallets", headers=headers(bob))
    assert all(w["balanceMinor"] == 0 for w in await r.json())


async def test_transfer_to_an_unknown_email_is_404_naming_toEmail(wallet_client):
    client = await wallet_client()
    alice = new_user()
    await top_up(client, alice, 100)
    r = await client.post("/api/wallets/transfer", headers=headers(alice),
                          json={"toEmail": "nobody@example.test", "currency": "EUR", "amountMinor": 1})
    assert r.status == 404
    body = await r.json()
    assert body["code"] == "NOT_FOUND" and body["detail"] == "recipient not found"
    assert [e["field"] for e in body["errors"]] == ["toEmail"]


async def test_transfer_to_yourself_is_refused(wallet_client):
    client = await wallet_client()
    alice = new_user()
    await top_up(client, alice, 100)
    r = await client.post("/api/wallets/transfer", headers=headers(alice),
                          json={"toEmail": email(alice), "currency": "EUR", "amountMinor": 1})
    assert r.status == 400
    assert [e["field"] for e in (await r.json())["errors"]] == ["toEmail"]


@pytest.mark.parametrize("amount", [0, -1, 1.5, "10", 9223372036854775808])
async def test_bad_transfer_amounts_are_400(wallet_client, amount):
    client = await wallet_client()
    alice = new_user()
    r = await client.post("/api/wallets/transfer", headers=headers(alice),
                          json={"toEmail": email(new_user()), "currency": "EUR", "amountMinor": amount})
    assert r.status == 400
    assert [e["field"] for e in (await r.json())["errors"]] == ["amountMinor"]


async def test_transfer_rejects_unknown_fields_and_missing_ones(wallet_client):
    client = await wallet_client()
    r = await client.post("/api/wallets/transfer", headers=headers(new_user()),
                          json={"currency": "EUR", "amountMinor": 1, "to": "x"})
    assert r.status == 400
    assert sorted(e["field"] for e in (await r.json())["errors"]) == ["to", "toEmail"]


async def test_replayed_top_up_key_returns_the_same_wallet_and_moves_money_once(wallet_client):
    client = await wallet_client()
    user = new_user()
    first = await top_up(client, user, 500, **{"Idempotency-Key": "topup-1"})
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 500},
                          headers=headers(user, **{"Idempotency-Key": "topup-1"}))
    assert r.status == 200 and r.headers.get("Idempotent-Replayed") == "true"
    assert await r.json() == first
    r = await client.get("/api/wallets", headers=headers(user))
    assert (await r.json())[0]["balanceMinor"] == 500


async def test_replayed_transfer_key_moves_money_once_and_a_different_body_is_409(wallet_client):
    client = await wallet_client()
    alice, bob = new_user(), new_user()
    await top_up(client, alice, 1000)
    body = {"toEmail": email(bob), "currency": "EUR", "amountMinor": 400}
    key = {"Idempotency-Key": "pay-bob-1"}
    r1 = await client.post("/api/wallets/transfer", json=body, headers=headers(alice, **key))
    r2 = await client.post("/api/wallets/transfer", json=body, headers=headers(alice, **key))
    assert r1.status == r2.status == 200
    assert await r1.json() == await r2.json()
    r3 = await client.post("/api/wallets/transfer", json={**body, "amountMinor": 401}, headers=headers(alice, **key))
    assert r3.status == 409 and (await r3.json())["reason"] == "IDEMPOTENCY_KEY_REUSED"
    r = await client.get("/api/wallets", headers=headers(bob))
    assert (await r.json())[0]["balanceMinor"] == 400
    r = await client.get("/api/wallets", headers=headers(alice))
    assert (await r.json())[0]["balanceMinor"] == 600


async def test_a_failed_transfer_does_not_burn_its_idempotency_key(wallet_client):
    client = await wallet_client()
    alice, bob = new_user(), new_user()
    body = {"toEmail": email(bob), "currency": "EUR", "amountMinor": 400}
    key = {"Idempotency-Key": "retry-after-topup"}
    r = await client.post("/api/wallets/transfer", json=body, headers=headers(alice, **key))
    assert r.status == 409 and (await r.json())["reason"] == "INSUFFICIENT_FUNDS"
    await top_up(client, alice, 400)
    r = await client.post("/api/wallets/transfer", json=body, headers=headers(alice, **key))
    assert r.status == 200 and (await r.json())["balanceMinor"] == 0


async def test_transactions_are_paged_newest_first(wallet_client):
    client = await wallet_client()
    user = new_user()
    for amount in range(1, 6):
        await top_up(client, user, amount)
    r = await client.get("/api/wallets/EUR/transactions?page=2&pageSize=2", headers=headers(user))
    page = await r.json()
    assert page["total"] == 5 and page["page"] == 2 and page["pageSize"] == 2
    assert [e["amountMinor"] for e in page["items"]] == [3, 2]
    r = await client.get("/api/wallets/EUR/transactions?page=9", headers=headers(user))
    assert (await r.json())["items"] == []
    r = await client.get("/api/wallets/USD/transactions", headers=headers(user))
    assert await r.json() == {"items": [], "page": 1, "pageSize": 20, "total": 0}
    for bad in ("pageSize=0", "pageSize=101", "page=0", "page=x"):
        r = await client.get(f"/api/wallets/EUR/transactions?{bad}", headers=headers(user))
        assert r.status == 400, bad
        assert (await r.json())["errors"][0]["field"] in ("page", "pageSize")


async def test_currencies_endpoint_lists_accepted_currencies_with_exponents(wallet_client):
    client = await wallet_client()
    r = await client.get("/api/wallets/currencies")
    assert r.status == 200
    assert await r.json() == [{"code": "EUR", "exponent": 2}, {"code": "USD", "exponent": 2},
                              {"code": "GBP", "exponent": 2}, {"code": "JPY", "exponent": 0},
                              {"code": "CHF", "exponent": 2}, {"code": "BHD", "exponent": 3}]


async def test_configured_currencies_and_topup_bound_apply(wallet_client, settings):
    s = settings.with_(plugin_config={"wallet": {"currencies": ["SEK"], "max_topup_minor": 1000}})
    client = await wallet_client(settings_obj=s)
    user = new_user()
    await top_up(client, user, 1000, currency="SEK")
    r = await client.post("/api/wallets/top-up", json={"currency": "SEK", "amountMinor": 1001}, headers=headers(user))
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "amountMinor"
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1}, headers=headers(user))
    assert r.status == 400 and (await r.json())["errors"][0]["field"] == "currency"
    assert await verify(rt_of(client).db) == []


async def test_money_calls_are_rate_limited_with_headers(wallet_client):
    client = await wallet_client(rate_limits={"money": (2, 60.0), "read": (1000, 60.0), "write": (1000, 60.0)})
    user = new_user()
    statuses = []
    for _ in range(3):
        r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": 1}, headers=headers(user))
        statuses.append(r.status)
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(r.headers)
    assert statuses == [200, 200, 429]
    assert int(r.headers["Retry-After"]) >= 1
    r = await client.get("/api/wallets", headers=headers(user))
    assert (await r.json())[0]["balanceMinor"] == 2


async def test_openapi_documents_the_wallet_routes(wallet_client):
    client = await wallet_client()
    doc = await (await client.get("/api/openapi.json")).json()
    for path in ("/api/wallets", "/api/wallets/top-up", "/api/wallets/transfer",
                 "/api/wallets/{currency}/transactions", "/api/wallets/currencies"):
        assert path in doc["paths"], path
