"""GraphQL resolvers: the same bus calls as rest.py."""

from __future__ import annotations

from pathlib import Path

from kernel.web.graphql import GraphQLPart, bus_field

from .contract import Shipping

SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")


def part() -> GraphQLPart:
    s = Shipping
    return GraphQLPart(
        sdl=SDL,
        resolvers={
            "Query.myAddresses": bus_field(s.list_addresses),
            "Query.shippingMethods": bus_field(s.find_methods),
            "Query.shippingZones": bus_field(s.list_zones),
            "Query.taxRates": bus_field(s.list_tax_rates),
            "Mutation.createAddress": bus_field(s.create_address),
            "Mutation.updateAddress": bus_field(s.update_address),
            "Mutation.deleteAddress": bus_field(s.delete_address),
            "Mutation.createShippingZone": bus_field(s.create_zone),
            "Mutation.updateShippingZone": bus_field(s.update_zone),
            "Mutation.deleteShippingZone": bus_field(s.delete_zone),
            "Mutation.createShippingMethod": bus_field(s.create_method),
            "Mutation.deleteShippingMethod": bus_field(s.delete_method),
            "Mutation.setTaxRate": bus_field(s.set_tax_rate),
            "Mutation.deleteTaxRate": bus_field(s.delete_tax_rate),
        },
    )
