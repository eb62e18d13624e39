"""Catalog writes need ``catalog:write`` (which ``admin`` implies): an integrator's client with
that scope alone manages the catalog and nothing else. Real PostgreSQL and Redis, over HTTP."""

from __future__ import annotations

from typing import Any

from tests.catalog.conftest import ADMIN, uniq
from tests.support.fake_identity import principal_header

# An admin's token granted to an integration with one narrow scope (users also need the admin
# role for catalog writes: defence in depth, see plugins/catalog/admin.py).
CATALOG_WRITER = principal_header("pim-sync", roles=("admin",), scopes=("catalog:read", "catalog:write"))
ORDER_MANAGER = principal_header("erp-sync", roles=("admin",), scopes=("orders:read", "orders:manage"))


async def test_catalog_write_alone_manages_the_catalog_and_nothing_else(catalog_client: Any) -> None:
    c = await catalog_client()
    r = await c.post("/api/admin/categories", json={"slug": uniq("cat"), "name": "PIM"}, headers=CATALOG_WRITER)
    assert r.status == 201, await r.text()
    category = await r.json()
    r = await c.post("/api/admin/products", json={
        "slug": uniq("p"), "name": "Synced", "categoryId": category["id"], "priceMinor": 990, "currency": "EUR",
        "stockQty": 3}, headers=CATALOG_WRITER)
    assert r.status == 201, await r.text()
    product = await r.json()
    r = await c.put(f"/api/admin/products/{product['id']}/stock", json={"stockQty": 7}, headers=CATALOG_WRITER)
    assert r.status == 200 and (await r.json())["stockQty"] == 7
    q = f'mutation {{ createCategory(slug: "{uniq("gql")}", name: "G") {{ id }} }}'
    out = await (await c.post("/graphql", json={"query": q}, headers=CATALOG_WRITER)).json()
    assert out["data"]["createCategory"]["id"], out
    # The narrow scopes do not reach each other's side.
    r = await c.post("/api/admin/categories", json={"slug": uniq("cat"), "name": "ERP"}, headers=ORDER_MANAGER)
    assert r.status == 403 and (await r.json())["reason"] == "MISSING_SCOPE"
    assert (await c.get("/api/admin/orders", headers=CATALOG_WRITER)).status in (403, 404)
    # A shopper cannot write the catalog; an admin still can (admin implies catalog:write).
    r = await c.post("/api/admin/categories", json={"slug": uniq("cat"), "name": "No"},
                     headers=principal_header("shopper-1"))
    assert r.status == 403
    r = await c.post("/api/admin/categories", json={"slug": uniq("cat"), "name": "Boss"},
                     headers=principal_header("boss", roles=("admin",), scopes=("admin",)))
    assert r.status == 201, await r.text()
    assert (await c.post("/api/admin/categories", json={"slug": uniq("cat"), "name": "A"},
                         headers=ADMIN)).status == 201
