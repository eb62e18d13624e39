from tests.support import hello_plugin


async def test_hello_rest_roundtrip(make_client):
    client = await make_client([hello_plugin])
    r = await client.post("/api/hello", json={"name": "ada", "times": 2})
    assert r.status == 200, await r.text()
    assert (await r.json()) == {"text": "hello ada", "count": 2}
    r = await client.get("/api/hello/ada")
    assert r.status == 200
    assert (await r.json())["count"] == 2
