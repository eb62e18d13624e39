"""REST adapters over the Shipping service (names fixed by the spec, "Fulfilment")."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Shipping

ME = ("addresses",)
ADMIN = ("shipping-admin",)


def routes() -> list[Route]:
    s = Shipping
    return [
        Route("GET", "/api/me/addresses", s.list_addresses, summary="The caller's saved addresses", tags=ME),
        Route("POST", "/api/me/addresses", s.create_address, status=201, summary="Save an address", tags=ME),
        Route("PATCH", "/api/me/addresses/{id}", s.update_address, summary="Change a saved address", tags=ME),
        Route("DELETE", "/api/me/addresses/{id}", s.delete_address, summary="Delete a saved address", tags=ME),
        Route("GET", "/api/shipping-methods", s.find_methods,
              summary="Shipping methods to a country, priced in a currency (cheapest first)", tags=("shipping",)),
        Route("GET", "/api/admin/shipping-zones", s.list_zones, summary="Shipping zones with their methods",
              tags=ADMIN),
        Route("POST", "/api/admin/shipping-zones", s.create_zone, status=201,
              summary="Create a zone (a set of countries)", tags=ADMIN),
        Route("PATCH", "/api/admin/shipping-zones/{id}", s.update_zone,
              summary="Rename a zone or replace its countries", tags=ADMIN),
        Route("DELETE", "/api/admin/shipping-zones/{id}", s.delete_zone, summary="Delete a zone and its methods",
              tags=ADMIN),
        Route("POST", "/api/admin/shipping-zones/{zoneId}/methods", s.create_method, status=201,
              summary="Add a shipping method with a price per currency", tags=ADMIN),
        Route("DELETE", "/api/admin/shipping-zones/{zoneId}/methods/{id}", s.delete_method,
              summary="Delete a shipping method", tags=ADMIN),
        Route("GET", "/api/admin/tax-rates", s.list_tax_rates, summary="Tax rates per country", tags=ADMIN),
        Route("PUT", "/api/admin/tax-rates/{country}", s.set_tax_rate,
              summary="Set a country's tax rate (percent, exact decimal; inclusive or exclusive)", tags=ADMIN),
        Route("DELETE", "/api/admin/tax-rates/{country}", s.delete_tax_rate, summary="Remove a country's tax rate",
              tags=ADMIN),
    ]
