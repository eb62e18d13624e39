"""Addresses, zones, methods and tax rates over REST and GraphQL; validation and scope separation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.orders.shop import Shop, new_user
from tests.support.fake_identity import principal_header

from .helpers import admin, manager, shipping_manager, shopper, tax, zone

HOME = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"}


async def test_addresses_are_saved_listed_changed_and_deleted_per_user(shop: Shop) -> None:
    c, user, other = shop.client, new_user(), new_user()
    r = await c.post("/api/me/addresses", json={**HOME, "phone": "+49 30 123"}, headers=shopper(user))
    assert r.status == 201, await r.text()
    a = await r.json()
    assert a == {"id": a["id"], "name": "Ada Lovelace", "line1": "1 Main St", "line2": "", "city": "Berlin",
                 "postalCode": "10115", "region": "", "country": "DE", "phone": "+49 30 123"}
    r = await c.patch(f"/api/me/addresses/{a['id']}", json={"city": "Hamburg", "country": "FR"},
                      headers=shopper(user))
    assert (await r.json())["city"] == "Hamburg" and (await c.get("/api/me/addresses", headers=shopper(user))
                                                      ).status == 200
    assert [x["city"] for x in await (await c.get("/api/me/addresses", headers=shopper(user))).json()] == ["Hamburg"]
    # Another user sees nothing and can neither change nor delete it: 404, never 403.
    assert await (await c.get("/api/me/addresses", headers=shopper(other))).json() == []
    r = await c.patch(f"/api/me/addresses/{a['id']}", json={"city": "X"}, headers=shopper(other))
    assert r.status == 404 and (await r.json())["reason"] == "ADDRESS_NOT_FOUND"
    assert (await c.delete(f"/api/me/addresses/{a['id']}", headers=shopper(other))).status == 404
    assert (await c.delete(f"/api/me/addresses/{a['id']}", headers=shopper(user))).status == 200
    assert (await c.delete(f"/api/me/addresses/{a['id']}", headers=shopper(user))).status == 404
    assert (await c.patch("/api/me/addresses/not-a-uuid", json={"city": "X"}, headers=shopper(user))).status == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"country": "XX"}, "country"),  # well formed, but no such country in ISO 3166-1
    ({"country": "de"}, "country"),
    ({"country": "DEU"}, "country"),
    ({"name": "a" * 101}, "name"),
    ({"line1": "x\x00y"}, "line1"),
    ({"city": ""}, "city"),
    ({"postalCode": "1" * 21}, "postalCode"),
    ({"phone": "call me"}, "phone"),
])
async def test_bad_addresses_are_refused_with_field_errors(shop: Shop, change: dict[str, Any], field: str) -> None:
    user = new_user()
    r = await shop.client.post("/api/me/addresses", json={**HOME, **change}, headers=shopper(user))
    assert r.status == 400, await r.text()
    body = await r.json()
    assert field in {e["field"] for e in body["errors"]}
    assert await (await shop.client.get("/api/me/addresses", headers=shopper(user))).json() == []


async def test_shipping_methods_are_found_by_country_and_currency(shop: Shop) -> None:
    c = shop.client
    z = await zone(c, ["DE", "AT"], [("Standard", {"EUR": 490, "USD": 550}), ("Express", {"EUR": 1290})])
    std = z["methods"][0]
    r = await c.get("/api/shipping-methods?country=DE&currency=EUR")
    assert r.status == 200
    assert await r.json() == [{"id": std["id"], "name": "Standard", "priceMinor": 490, "currency": "EUR"},
                              {"id": z["methods"][1]["id"], "name": "Express", "priceMinor": 1290,
                               "currency": "EUR"}]
    assert [m["name"] for m in await (await c.get("/api/shipping-methods?country=AT&currency=USD")).json()] \
        == ["Standard"]
    assert await (await c.get("/api/shipping-methods?country=FR&currency=EUR")).json() == []
    assert (await c.get("/api/shipping-methods?country=ZZ&currency=EUR")).status == 400
    # A country is in one zone at most.
    r = await c.post("/api/admin/shipping-zones", json={"name": "Dup", "countries": ["AT"]}, headers=admin())
    assert r.status == 409 and (await r.json())["reason"] == "COUNTRY_IN_OTHER_ZONE"
    r = await c.patch(f"/api/admin/shipping-zones/{z['id']}", json={"countries": ["FR"]}, headers=admin())
    assert (await r.json())["countries"] == ["FR"]
    assert await (await c.get("/api/shipping-methods?country=DE&currency=EUR")).json() == []
    r = await c.delete(f"/api/admin/shipping-zones/{z['id']}/methods/{std['id']}", headers=admin())
    assert [m["name"] for m in (await r.json())["methods"]] == ["Express"]
    assert (await c.delete(f"/api/admin/shipping-zones/{z['id']}", headers=admin())).status == 200
    assert await (await c.get("/api/admin/shipping-zones", headers=admin())).json() == []


async def test_method_prices_need_real_currencies_once_each(shop: Shop) -> None:
    z = await zone(shop.client, ["CH"], [])
    url = f"/api/admin/shipping-zones/{z['id']}/methods"
    r = await shop.client.post(url, json={"name": "M", "prices": [{"currency": "XYZ", "priceMinor": 1}]},
                               headers=admin())
    assert r.status == 400 and (await r.json())["reason"] == "UNKNOWN_CURRENCY"
    r = await shop.client.post(url, json={"name": "M", "prices": [{"currency": "CHF", "priceMinor": 1},
                                                                  {"currency": "CHF", "priceMinor": 2}]},
                               headers=admin())
    assert r.status == 400
    r = await shop.client.post(url, json={"name": "M", "prices": [{"currency": "CHF", "priceMinor": -1}]},
                               headers=admin())
    assert r.status == 400


async def test_tax_rates_are_exact_decimal_strings(shop: Shop) -> None:
    c = shop.client
    await tax(c, "DE", "19", inclusive=True)
    await tax(c, "US", "7.25")
    rates = await (await c.get("/api/admin/tax-rates", headers=admin())).json()
    assert [(t["country"], t["rate"], t["inclusive"]) for t in rates] == [("DE", "19", True), ("US", "7.25", False)]
    for bad in ("19.5%", "101", "1e2", "7.12345", "-1", "0x10", ""):
        r = await c.put("/api/admin/tax-rates/DE", json={"rate": bad}, headers=admin())
        assert r.status == 400, bad
    assert (await c.put("/api/admin/tax-rates/QQ", json={"rate": "5"}, headers=admin())).status == 400
    assert (await c.delete("/api/admin/tax-rates/US", headers=admin())).status == 200
    assert (await c.delete("/api/admin/tax-rates/US", headers=admin())).status == 404


async def test_shipping_admin_needs_shipping_manage_which_cannot_touch_the_catalog_or_orders(shop: Shop) -> None:
    c = shop.client
    shopper_h = shopper(new_user())
    assert (await c.get("/api/admin/shipping-zones", headers=shopper_h)).status == 403
    assert (await c.put("/api/admin/tax-rates/DE", json={"rate": "19"}, headers=shopper_h)).status == 403
    assert (await c.get("/api/admin/shipping-zones")).status == 401
    # orders:manage (an ERP) is not enough for shipping configuration; shipping:manage is, and admin implies it.
    assert (await c.get("/api/admin/tax-rates", headers=manager())).status == 403
    assert (await c.get("/api/admin/tax-rates", headers=shipping_manager())).status == 200
    assert (await c.get("/api/admin/tax-rates", headers=principal_header("boss", scopes=("admin",)))).status == 200
    # shipping:manage cannot touch the catalog or the orders, nor save addresses as a shopper.
    r = await c.post("/api/admin/categories", json={"slug": "ship", "name": "Ship"}, headers=shipping_manager())
    assert r.status == 403
    assert (await c.get("/api/admin/orders", headers=shipping_manager())).status == 403
    assert (await c.get("/api/me/addresses", headers=shipping_manager())).status == 403


async def test_graphql_has_the_same_addresses_methods_and_rates(shop: Shop) -> None:
    c, user = shop.client, new_user()

    async def gql(q: str, h: dict[str, str], **v: Any) -> dict[str, Any]:
        return dict(await (await c.post("/graphql", json={"query": q, "variables": v}, headers=h)).json())

    out = await gql('mutation { createAddress(name: "A", line1: "L", city: "C", country: "GB") { id country } }',
                    shopper(user))
    assert out["data"]["createAddress"]["country"] == "GB"
    out = await gql("{ myAddresses { id city } }", shopper(user))
    assert [a["city"] for a in out["data"]["myAddresses"]] == ["C"]
    out = await gql('mutation { createAddress(name: "A", line1: "L", city: "C", country: "XX") { id } }',
                    shopper(user))
    assert out["errors"]
    out = await gql('mutation { createShippingZone(name: "UK", countries: ["GB"]) { id } }', admin())
    zid = out["data"]["createShippingZone"]["id"]
    out = await gql('mutation($z: ID!) { createShippingMethod(zoneId: $z, name: "Royal", '
                    'prices: [{currency: "GBP", priceMinor: 399}]) { methods { name prices { priceMinor } } } }',
                    admin(), z=zid)
    assert out["data"]["createShippingMethod"]["methods"][0]["prices"] == [{"priceMinor": 399}]
    out = await gql('{ shippingMethods(country: "GB", currency: "GBP") { name priceMinor currency } }', {})
    assert out["data"]["shippingMethods"] == [{"name": "Royal", "priceMinor": 399, "currency": "GBP"}]
    out = await gql('mutation { setTaxRate(country: "GB", rate: "20", inclusive: true) { rate inclusive } }',
                    admin())
    assert out["data"]["setTaxRate"] == {"rate": "20", "inclusive": True}
    out = await gql("{ taxRates { country } }", shipping_manager())
    assert out["data"]["taxRates"] == [{"country": "GB"}]
    out = await gql("{ taxRates { country } }", shopper(user))
    assert out["errors"]


async def test_demo_seed_makes_checkout_possible_in_a_few_countries_and_runs_twice(shop: Shop) -> None:
    from plugins.shipping.seed import seed_demo

    first = await seed_demo(shop.rt, {})
    assert first == "5 zones, 8 shipping methods, 10 tax rates added"
    assert await seed_demo(shop.rt, {}) == "0 zones, 0 shipping methods, 0 tax rates added"
    for country, currency in (("DE", "EUR"), ("FR", "EUR"), ("GB", "GBP"), ("US", "USD"), ("JP", "JPY")):
        found = await (await shop.client.get(f"/api/shipping-methods?country={country}&currency={currency}")).json()
        assert found, (country, currency)
    rates = {t["country"]: (t["rate"], t["inclusive"])
             for t in await (await shop.client.get("/api/admin/tax-rates", headers=admin())).json()}
    assert rates["DE"] == ("19", True) and rates["US"] == ("7.25", False)
