"""The admin-only view of what was loaded: the kernel's own bus service."""

from __future__ import annotations

from tests.support import fake_identity, hello_plugin
from tests.support.fake_identity import principal_header

ADMIN = principal_header("root", roles=("admin",), scopes=("admin",))


async def test_admins_see_the_loaded_plugins_over_rest_and_graphql(make_client):
    client = await make_client([hello_plugin, fake_identity])
    r = await client.get("/api/admin/plugins", headers=ADMIN)
    assert r.status == 200
    plugins = {p["name"]: p for p in await r.json()}
    assert set(plugins) == {"hello", "fake_identity"}
    hello = {c["kind"]: c["items"] for c in plugins["hello"]["contributes"]}
    # Routes the contract declares (rpc(..., rest=Http(...))) and those of shop_routes alike.
    assert {"POST /api/hello", "GET /api/hello/{name}", "GET /api/hello-secret"} <= set(hello["routes"])
    assert hello["services"] == ["test.hello.v1.Hello"]
    q = {"query": "{ plugins { name version contributes { kind items } } }"}
    data = await (await client.post("/graphql", json=q, headers=ADMIN)).json()
    assert {p["name"] for p in data["data"]["plugins"]} == {"hello", "fake_identity"}


async def test_only_admins_see_the_loaded_plugins(make_client):
    client = await make_client([hello_plugin, fake_identity])
    assert (await client.get("/api/admin/plugins")).status == 401
    assert (await client.get("/api/admin/plugins", headers=principal_header("u1"))).status == 403
    data = await (await client.post("/graphql", json={"query": "{ plugins { name } }"},
                                    headers=principal_header("u1"))).json()
    assert data["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
