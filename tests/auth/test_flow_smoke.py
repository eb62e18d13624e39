from tests.support.auth_helpers import bearer, user_token


async def test_user_token_gives_a_bearer_that_reads_me(make_client):
    client = await make_client()
    token = await user_token(client, "ada@example.test")
    r = await client.get("/api/me", headers=bearer(token))
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["email"] == "ada@example.test"
    assert set(body) == {"id", "email", "name", "roles", "createdAt"}
