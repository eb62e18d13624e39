"""Wallet GraphQL fields: the same bus calls as REST, errors with extensions.code/reason."""

from __future__ import annotations

from tests.wallet.conftest import email, headers, new_user


async def gql(client, user: str, query: str, variables: dict | None = None) -> dict:
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers(user))
    assert r.status == 200, await r.text()
    return await r.json()


TOP_UP = """mutation($c: String!, $a: Int!, $k: String, $card: CardPaymentInput) {
  topUpWallet(currency: $c, amountMinor: $a, idempotencyKey: $k, card: $card) { id currency balanceMinor } }"""
TRANSFER = """mutation($to: String!, $a: Int!, $k: String) {
  transferMoney(toEmail: $to, currency: "EUR", amountMinor: $a, memo: "hi", idempotencyKey: $k) {
    id currency amountMinor toEmail balanceMinor createdAt } }"""


async def test_graphql_top_up_transfer_balances_and_transactions(wallet_client):
    client = await wallet_client()
    alice, bob = new_user(), new_user()
    out = await gql(client, alice, TOP_UP, {"c": "EUR", "a": 900})
    assert out["data"]["topUpWallet"]["balanceMinor"] == 900
    card = {"number": "4242424242424242", "expMonth": 12, "expYear": 2031, "cvc": "123"}
    out = await gql(client, alice, TOP_UP, {"c": "EUR", "a": 100, "card": card})
    assert out["data"]["topUpWallet"]["balanceMinor"] == 1000
    out = await gql(client, alice, TRANSFER, {"to": email(bob), "a": 250, "k": "gql-1"})
    t = out["data"]["transferMoney"]
    assert t["amountMinor"] == 250 and t["balanceMinor"] == 750 and t["toEmail"] == email(bob)
    again = await gql(client, alice, TRANSFER, {"to": email(bob), "a": 250, "k": "gql-1"})
    assert again["data"]["transferMoney"] == t
    out = await gql(client, alice, "{ walletBalances { currency balanceMinor } walletCurrencies { code exponent } }")
    assert out["data"]["walletBalances"] == [{"currency": "EUR", "balanceMinor": 750}]
    assert {"code": "BHD", "exponent": 3} in out["data"]["walletCurrencies"]
    out = await gql(client, bob, '{ walletTransactions(currency: "EUR", pageSize: 5) '
                                 '{ total page pageSize items { kind amountMinor memo transactionId } } }')
    page = out["data"]["walletTransactions"]
    assert page["total"] == 1 and page["pageSize"] == 5
    assert page["items"][0]["kind"] == "transfer_in" and page["items"][0]["transactionId"] == t["id"]


async def test_graphql_errors_carry_code_reason_and_field(wallet_client):
    client = await wallet_client()
    alice = new_user()
    out = await gql(client, alice, TRANSFER, {"to": email(new_user()), "a": 5})
    err = out["errors"][0]
    assert err["extensions"]["code"] == "FAILED_PRECONDITION"
    assert err["extensions"]["reason"] == "INSUFFICIENT_FUNDS"
    out = await gql(client, alice, TOP_UP, {"c": "XXX", "a": 5})
    assert out["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    assert out["errors"][0]["extensions"]["errors"][0]["field"] == "currency"
    out = await gql(client, alice, TOP_UP, {"c": "EUR", "a": 0})
    assert out["errors"][0]["extensions"]["errors"][0]["field"] == "amountMinor"
    out = await gql(client, alice, TOP_UP, {"c": "EUR", "a": 1.5})
    assert out["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    out = await gql(client, alice, TRANSFER, {"to": "nobody@example.test", "a": 5})
    assert out["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    r = await client.post("/graphql", json={"query": "{ walletBalances { id } }"})
    assert (await r.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
