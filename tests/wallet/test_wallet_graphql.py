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


BIG = 2**31 + 12_345  # beyond GraphQL's 32-bit Int


async def test_a_balance_beyond_2_to_the_31_is_served_by_graphql_as_by_rest(wallet_client):
    """Amounts are 64-bit on the bus and in REST; GraphQL serves them as ``Long``, not as an error."""
    client = await wallet_client(plugin_config={"wallet": {"max_topup_minor": 2**40}})
    alice, bob = new_user(), new_user()
    r = await client.post("/api/wallets/top-up", json={"currency": "EUR", "amountMinor": BIG}, headers=headers(alice))
    assert r.status == 200, await r.text()
    rest = await (await client.get("/api/wallets", headers=headers(alice))).json()
    out = await gql(client, alice, "{ walletBalances { id currency balanceMinor payment { id } } }")
    assert "errors" not in out, out
    assert out["data"]["walletBalances"] == rest
    assert rest == [{"id": rest[0]["id"], "currency": "EUR", "balanceMinor": BIG, "payment": None}]
    # Answers of mutations and pages carry the big amounts too.
    out = await gql(client, alice, TRANSFER, {"to": email(bob), "a": 5})
    assert out["data"]["transferMoney"]["balanceMinor"] == BIG - 5
    out = await gql(client, alice, '{ walletTransactions(currency: "EUR") { items { kind amountMinor } } }')
    assert {"kind": "topup", "amountMinor": BIG} in out["data"]["walletTransactions"]["items"]
    schema = await gql(client, alice, '{ __type(name: "Wallet") { fields { name type { kind ofType { name } } } } }')
    kinds = {f["name"]: f["type"] for f in schema["data"]["__type"]["fields"]}
    assert kinds["balanceMinor"] == {"kind": "NON_NULL", "ofType": {"name": "Long"}}


async def test_one_failing_root_field_leaves_the_others_data(wallet_client):
    """Root fields are nullable: an anonymous caller still gets the public field beside the refused one."""
    client = await wallet_client()
    r = await client.post("/graphql", json={"query": "{ walletCurrencies { code } walletBalances { id } }"})
    body = await r.json()
    assert r.status == 200
    assert body["data"]["walletBalances"] is None and {"code": "EUR"} in body["data"]["walletCurrencies"]
    assert body["errors"][0]["path"] == ["walletBalances"]
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

