"""What other plugins may import from shipping: addresses, methods, tax rates and the order quote."""

from __future__ import annotations

from kernel.core.messages import Timestamp, Uuid, constraint, message
from kernel.core.scopes import Scope
from kernel.core.service import Http, MethodGroup, Service, rpc

# The admin scope is shipping's own (implied by ``admin``), so shipping runs with orders disabled;
# give an integration both ``orders:manage`` and ``shipping:manage`` to run orders and shipping.
SCOPES = (
    Scope("addresses", "See and change your saved shipping addresses"),
    Scope("shipping:manage", "Manage shipping zones, methods and tax rates", implied_by=("admin",)),
)

MANAGE = "shipping:manage"
COUNTRY = r"[A-Z]{2}"
CURRENCY = r"[A-Z]{3}"
ID_MAX = 64
# A percentage with at most 4 decimals ("19", "7.25", "0.5"): exact, never a float.
RATE = r"(100(\.0{1,4})?|[0-9]{1,2}(\.[0-9]{1,4})?)"
PHONE = r"[0-9+()./ -]{0,40}"


# ---- addresses


@message(graphql_input="ShippingAddressInput")
class AddressInput:
    """A postal address as given by a shopper (also the checkout's ``shippingAddress``)."""

    name: str = constraint(min_len=1, max_len=100, strip=True)
    line1: str = constraint(min_len=1, max_len=200, strip=True)
    city: str = constraint(min_len=1, max_len=100, strip=True)
    country: str = constraint(pattern=COUNTRY, doc="ISO 3166-1 alpha-2, e.g. DE")
    line2: str = constraint(default="", max_len=200, strip=True)
    postal_code: str = constraint(default="", max_len=20, strip=True)
    region: str = constraint(default="", max_len=100, strip=True)
    phone: str = constraint(default="", max_len=40, pattern=PHONE, strip=True)


@message
class Address:
    """A postal address; id is empty for an address given only at checkout."""

    id: str  # a saved address's UUID; "" for an address given only at checkout
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    region: str
    country: str
    phone: str


@message
class ListAddresses:
    pass


@message
class CreateAddress(AddressInput):
    """Save an address: the fields of the checkout's ``shippingAddress``."""


@message
class UpdateAddress:
    """Fields left out stay as they are."""

    id: str = constraint(min_len=1, max_len=ID_MAX)
    name: str | None = constraint(default=None, min_len=1, max_len=100, strip=True)
    line1: str | None = constraint(default=None, min_len=1, max_len=200, strip=True)
    line2: str | None = constraint(default=None, max_len=200, strip=True)
    city: str | None = constraint(default=None, min_len=1, max_len=100, strip=True)
    postal_code: str | None = constraint(default=None, max_len=20, strip=True)
    region: str | None = constraint(default=None, max_len=100, strip=True)
    country: str | None = constraint(default=None, pattern=COUNTRY)
    phone: str | None = constraint(default=None, max_len=40, pattern=PHONE, strip=True)


@message
class AddressId:
    id: str = constraint(min_len=1, max_len=ID_MAX)


@message(graphql="ShippingDeleted")
class Deleted:
    """The outcome of a delete."""

    id: str
    deleted: bool


# ---- zones, methods, rates


@message
class MethodPrice:
    """A method's price in one currency."""

    currency: str = constraint(pattern=CURRENCY)
    price_minor: int = constraint(min=0, max=10**12)


@message
class ShippingMethodAdmin:
    """A shipping method with all its prices (admin view)."""

    id: Uuid
    name: str
    prices: tuple[MethodPrice, ...]


@message(graphql="ShippingZone")
class Zone:
    """A shipping zone: countries and the methods that ship there."""

    id: Uuid
    name: str
    countries: tuple[str, ...]
    methods: tuple[ShippingMethodAdmin, ...]
    created_at: Timestamp


@message
class ListZones:
    pass


@message
class CreateZone:
    name: str = constraint(min_len=1, max_len=100, strip=True)
    countries: tuple[str, ...] = constraint(default=(), doc="ISO 3166-1 alpha-2 codes; each in at most one zone")


@message
class ZoneId:
    id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class UpdateZone(ZoneId):
    name: str | None = constraint(default=None, min_len=1, max_len=100, strip=True)
    countries: tuple[str, ...] | None = constraint(default=None, doc="replaces the zone's countries")


@message
class CreateMethod:
    zone_id: str = constraint(min_len=1, max_len=ID_MAX)
    name: str = constraint(min_len=1, max_len=100, strip=True)
    prices: tuple[MethodPrice, ...] = constraint(default=(), doc="one price per currency")


@message
class MethodRef:
    zone_id: str = constraint(min_len=1, max_len=ID_MAX)
    id: str = constraint(min_len=1, max_len=ID_MAX)


@message
class ShippingMethod:
    """A shipping method priced in one currency (at checkout: the one chosen, at the price paid)."""

    id: Uuid
    name: str
    price_minor: int
    currency: str


@message
class FindMethods:
    country: str = constraint(pattern=COUNTRY)
    currency: str = constraint(pattern=CURRENCY)


@message
class TaxRate:
    """A country's tax rate: rate is a percentage as an exact decimal string."""

    country: str
    rate: str  # percent, exact decimal ("19", "7.25")
    inclusive: bool  # prices already include the tax
    updated_at: Timestamp


@message
class ListTaxRates:
    pass


@message
class SetTaxRate:
    country: str = constraint(pattern=COUNTRY)
    rate: str = constraint(pattern=RATE, doc="percent as an exact decimal string, at most 4 decimals: \"19\", \"7.25\"")
    inclusive: bool = False


@message
class CountryRef:
    country: str = constraint(pattern=COUNTRY)


# ---- internal, for orders


@message
class ResolveAddress:
    """A saved address of ``user_id`` (``address_id``) or a given one (``address``), validated."""

    user_id: str | None = None
    address_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX)
    address: AddressInput | None = None


@message
class Quote:
    """Shipping and tax for an order: lines are the items' totals in ``currency``."""

    country: str = constraint(pattern=COUNTRY)
    currency: str = constraint(pattern=CURRENCY)
    method_id: str | None = constraint(default=None, min_len=1, max_len=ID_MAX)
    line_totals_minor: tuple[int, ...] = ()


@message
class Quoted:
    subtotal_minor: int  # net of tax when the rate is inclusive
    shipping_minor: int  # net of tax when the rate is inclusive
    tax_minor: int
    total_minor: int  # subtotal + shipping + tax
    method: ShippingMethod | None
    rate: str
    inclusive: bool


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
ADMIN = MethodGroup(scope=MANAGE, tags=("shipping-admin",))  # the admin area's methods
ME_TAGS = ("addresses",)
# Writes to the caller's own address book.
ME = MethodGroup(scope="addresses", user=True, rate_limit="write", tags=ME_TAGS)
TAGS = ("shipping",)


class Shipping(Service, package="shop.shipping.v1"):
    list_addresses = rpc(ListAddresses, tuple[Address, ...], graphql="Query.myAddresses", scope="addresses", user=True,
                         rest=Http("GET /api/me/addresses", "The caller's saved addresses", tags=ME_TAGS))
    create_address = ME.rpc(CreateAddress, Address, "Mutation.createAddress", "POST /api/me/addresses", "Save an address",
                            status=201)
    update_address = ME.rpc(UpdateAddress, Address, "Mutation.updateAddress", "PATCH /api/me/addresses/{id}",
                            "Change a saved address")
    delete_address = ME.rpc(AddressId, Deleted, "Mutation.deleteAddress", "DELETE /api/me/addresses/{id}",
                            "Delete a saved address")
    find_methods = rpc(FindMethods, tuple[ShippingMethod, ...], graphql="Query.shippingMethods",
                       rest=Http("GET /api/shipping-methods", tags=TAGS,
                                 summary="Shipping methods to a country, priced in a currency (cheapest first)"))
    list_zones = ADMIN.rpc(ListZones, tuple[Zone, ...], "Query.shippingZones", "GET /api/admin/shipping-zones",
                           "Shipping zones with their methods")
    create_zone = ADMIN.rpc(CreateZone, Zone, "Mutation.createShippingZone", "POST /api/admin/shipping-zones",
                            "Create a zone (a set of countries)", status=201)
    update_zone = ADMIN.rpc(UpdateZone, Zone, "Mutation.updateShippingZone", "PATCH /api/admin/shipping-zones/{id}",
                            "Rename a zone or replace its countries")
    delete_zone = ADMIN.rpc(ZoneId, Deleted, "Mutation.deleteShippingZone", "DELETE /api/admin/shipping-zones/{id}",
                            "Delete a zone and its methods")
    create_method = ADMIN.rpc(CreateMethod, Zone, "Mutation.createShippingMethod",
                              "POST /api/admin/shipping-zones/{zoneId}/methods",
                              "Add a shipping method with a price per currency", status=201)
    delete_method = ADMIN.rpc(MethodRef, Zone, "Mutation.deleteShippingMethod",
                              "DELETE /api/admin/shipping-zones/{zoneId}/methods/{id}", "Delete a shipping method")
    list_tax_rates = ADMIN.rpc(ListTaxRates, tuple[TaxRate, ...], "Query.taxRates", "GET /api/admin/tax-rates",
                               "Tax rates per country")
    set_tax_rate = ADMIN.rpc(SetTaxRate, TaxRate, "Mutation.setTaxRate", "PUT /api/admin/tax-rates/{country}",
                             "Set a country's tax rate (percent, exact decimal; inclusive or exclusive)")
    delete_tax_rate = ADMIN.rpc(CountryRef, Deleted, "Mutation.deleteTaxRate", "DELETE /api/admin/tax-rates/{country}",
                                "Remove a country's tax rate")
    # Internal: orders calls these inside its checkout transaction.
    resolve_address = rpc(ResolveAddress, Address, internal=True)
    quote = rpc(Quote, Quoted, internal=True)
