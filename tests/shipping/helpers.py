"""Principals and setup calls shared by the shipping and fulfilment tests."""

from __future__ import annotations

from typing import Any

from tests.support.fake_identity import ALL_USER_SCOPES, principal_header

USER_SCOPES = (*ALL_USER_SCOPES, "addresses")


def shopper(user_id: str) -> dict[str, str]:
    return principal_header(user_id, scopes=USER_SCOPES)


def manager(user_id: str = "erp-client") -> dict[str, str]:
    """An integration with only orders:manage (an ERP): no catalog rights."""
    return principal_header(user_id, scopes=("orders:manage",))


def shipping_manager(user_id: str = "logistics") -> dict[str, str]:
    return principal_header(user_id, scopes=("shipping:manage",))


def admin(user_id: str = "admin-1") -> dict[str, str]:
    # What auth issues to an admin: admin and every scope it implies.
    return principal_header(user_id, roles=("admin",), scopes=(*USER_SCOPES, "admin", "orders:manage",
                                                               "catalog:write", "shipping:manage"))


async def zone(client: Any, countries: list[str], methods: list[tuple[str, dict[str, int]]],
               name: str = "Zone") -> dict[str, Any]:
    r = await client.post("/api/admin/shipping-zones", json={"name": name, "countries": countries},
                          headers=admin())
    assert r.status == 201, await r.text()
    z = await r.json()
    for mname, prices in methods:
        r = await client.post(f"/api/admin/shipping-zones/{z['id']}/methods", headers=admin(), json={
            "name": mname, "prices": [{"currency": c, "priceMinor": p} for c, p in prices.items()]})
        assert r.status == 201, await r.text()
        z = await r.json()
    return dict(z)


async def tax(client: Any, country: str, rate: str, inclusive: bool = False) -> None:
    r = await client.put(f"/api/admin/tax-rates/{country}", json={"rate": rate, "inclusive": inclusive},
                         headers=admin())
    assert r.status == 200, await r.text()
