"""The Shipping servicer: addresses, zones and methods, tax rates, and the quote orders asks for."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pycountry

from kernel.core.context import CallContext
from kernel.core.messages import camel
from kernel.core.status import BusError, Status
from kernel.host.plugin import PluginBound

from .contract import (
    Address,
    AddressId,
    AddressInput,
    CountryRef,
    CreateAddress,
    CreateMethod,
    CreateZone,
    Deleted,
    FindMethods,
    ListAddresses,
    ListTaxRates,
    ListZones,
    MethodPrice,
    MethodRef,
    Quote,
    Quoted,
    ResolveAddress,
    SetTaxRate,
    ShippingMethod,
    ShippingMethodAdmin,
    TaxRate,
    UpdateAddress,
    UpdateZone,
    Zone,
    ZoneId,
)
from .tax import apply_tax

MAX_ADDRESSES = 50  # per user
MAX_COUNTRIES = 250
MAX_PRICES = 50
ADDRESS_COLUMNS = "id, name, line1, line2, city, postal_code, region, country, phone"


def parse_uuid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def iso(ts: datetime.datetime) -> str:
    return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")


def check_country(code: str, field: str = "country") -> str:
    # ISO 3166-1 from pycountry's data (kept up to date upstream), not a hand-written table.
    if pycountry.countries.get(alpha_2=code) is None:
        raise BusError(Status.INVALID_ARGUMENT, f"{code} is not an ISO 3166-1 alpha-2 country code.",
                       reason="UNKNOWN_COUNTRY", field_errors=[(field, "not an ISO 3166-1 alpha-2 country code")])
    return code


# Line breaks and bidirectional overrides in one line of an address: a "name" that carries a second
# street line onto a packing slip or a mail, or text shown reversed to the admin who ships it.
_NOT_ONE_LINE = re.compile("[\t\n\r\v\f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_FIELDS = ("name", "line1", "line2", "city", "postal_code", "region")


def check_lines(address: Any, prefix: str = "") -> None:
    """Each field of an address is one plain line of text."""
    bad = [(prefix + camel(f), "must be one line (no line breaks or direction overrides)")
           for f in _LINE_FIELDS if isinstance(getattr(address, f, None), str) and _NOT_ONE_LINE.search(getattr(address, f))]
    if bad:
        raise BusError(Status.INVALID_ARGUMENT, "Each address field is one line of text.", field_errors=bad)


def check_currency(code: str, field: str = "currency") -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise BusError(Status.INVALID_ARGUMENT, f"{code} is not an ISO 4217 currency code.",
                       reason="UNKNOWN_CURRENCY", field_errors=[(field, "not an ISO 4217 currency code")])
    return code


def address_not_found(field: str | None = None) -> BusError:
    return BusError(Status.NOT_FOUND, "There is no such address.", reason="ADDRESS_NOT_FOUND",
                    field_errors=[(field, "no such address")] if field else ())


def zone_not_found() -> BusError:
    return BusError(Status.NOT_FOUND, "There is no such shipping zone.", reason="ZONE_NOT_FOUND")


def method_not_available(field: str = "shippingMethodId") -> BusError:
    return BusError(Status.INVALID_ARGUMENT, "This shipping method does not ship to the address in the currency.",
                    reason="SHIPPING_METHOD_UNAVAILABLE", field_errors=[(field, "not available for this address "
                                                                                "and currency")])


def _address(r: Any) -> Address:
    return Address(id=str(r["id"]), name=r["name"], line1=r["line1"], line2=r["line2"], city=r["city"],
                   postal_code=r["postal_code"], region=r["region"], country=r["country"], phone=r["phone"])



class ShippingServicer(PluginBound):

    # ------------------------------------------------------------ addresses

    async def list_addresses(self, req: ListAddresses, ctx: CallContext) -> tuple[Address, ...]:
        rows = await self.db.fetch(f"SELECT {ADDRESS_COLUMNS} FROM shipping_address WHERE user_id = $1 "
                                   "ORDER BY created_at, id", ctx.principal.require_user())
        return tuple(_address(r) for r in rows)

    async def create_address(self, req: CreateAddress, ctx: CallContext) -> Address:
        user_id = ctx.principal.require_user()
        check_country(req.country)
        check_lines(req)
        async with self.db.transaction():
            # Serialize one user's creations so the cap holds under concurrency.
            await self.db.execute("SELECT pg_advisory_xact_lock(hashtext('shipping_address:' || $1))", user_id)
            if await self.db.fetchval("SELECT count(*) FROM shipping_address WHERE user_id = $1",
                                      user_id) >= MAX_ADDRESSES:
                raise BusError(Status.FAILED_PRECONDITION, f"At most {MAX_ADDRESSES} addresses can be saved.",
                               reason="TOO_MANY_ADDRESSES")
            row = await self.db.fetchrow(
                "INSERT INTO shipping_address (user_id, name, line1, line2, city, postal_code, region, country, "
                f"phone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ADDRESS_COLUMNS}",
                user_id, req.name, req.line1, req.line2, req.city, req.postal_code, req.region, req.country,
                req.phone)
        return _address(row)

    async def update_address(self, req: UpdateAddress, ctx: CallContext) -> Address:
        aid = parse_uuid(req.id)
        if aid is None:
            raise address_not_found()
        if req.country is not None:
            check_country(req.country)
        check_lines(req)
        row = await self.db.fetchrow(
            "UPDATE shipping_address SET name = coalesce($3, name), line1 = coalesce($4, line1), "
            "line2 = coalesce($5, line2), city = coalesce($6, city), postal_code = coalesce($7, postal_code), "
            "region = coalesce($8, region), country = coalesce($9, country), phone = coalesce($10, phone), "
            f"updated_at = clock_timestamp() WHERE id = $1 AND user_id = $2 RETURNING {ADDRESS_COLUMNS}",
            aid, ctx.principal.require_user(), req.name, req.line1, req.line2, req.city, req.postal_code, req.region, req.country,
            req.phone)
        if row is None:
            raise address_not_found()  # also another user's: never tell them apart
        return _address(row)

    async def delete_address(self, req: AddressId, ctx: CallContext) -> Deleted:
        aid = parse_uuid(req.id)
        done = aid is not None and await self.db.fetchval(
            "DELETE FROM shipping_address WHERE id = $1 AND user_id = $2 RETURNING true", aid, ctx.principal.require_user())
        if not done:
            raise address_not_found()
        return Deleted(id=str(aid), deleted=True)

    async def resolve_address(self, req: ResolveAddress, ctx: CallContext) -> Address:
        if req.address_id is not None:
            aid = parse_uuid(req.address_id)
            row = None if aid is None or req.user_id is None else await self.db.fetchrow(
                f"SELECT {ADDRESS_COLUMNS} FROM shipping_address WHERE id = $1 AND user_id = $2", aid, req.user_id)
            if row is None:
                raise address_not_found("addressId")
            return _address(row)
        if req.address is None:
            raise BusError(Status.INVALID_ARGUMENT, "An address is required.", reason="SHIPPING_REQUIRED",
                           field_errors=[("shippingAddress", "is required")])
        a: AddressInput = req.address
        check_country(a.country, "shippingAddress.country")
        check_lines(a, "shippingAddress.")
        return Address(id="", name=a.name, line1=a.line1, line2=a.line2, city=a.city, postal_code=a.postal_code,
                       region=a.region, country=a.country, phone=a.phone)

    # ------------------------------------------------------------ methods

    async def find_methods(self, req: FindMethods, ctx: CallContext) -> tuple[ShippingMethod, ...]:
        check_country(req.country)
        rows = await self.db.fetch(
            "SELECT m.id, m.name, p.price_minor, p.currency FROM shipping_zone_country zc "
            "JOIN shipping_method m ON m.zone_id = zc.zone_id "
            "JOIN shipping_method_price p ON p.method_id = m.id AND p.currency = $2 "
            "WHERE zc.country = $1 ORDER BY p.price_minor, m.created_at, m.id", req.country, req.currency)
        return tuple(ShippingMethod(id=str(r["id"]), name=r["name"], price_minor=r["price_minor"],
                                    currency=r["currency"]) for r in rows)

    async def _zone(self, zid: str) -> Zone:
        z = await self.db.fetchrow("SELECT id, name, created_at FROM shipping_zone WHERE id = $1", zid)
        if z is None:
            raise zone_not_found()
        return (await self._zones([z]))[0]

    async def _zones(self, zones: list[Any]) -> list[Zone]:
        ids = [z["id"] for z in zones]
        countries: dict[Any, list[str]] = {i: [] for i in ids}
        for r in await self.db.fetch("SELECT zone_id, country FROM shipping_zone_country "
                                     "WHERE zone_id = ANY($1::uuid[]) ORDER BY country", ids):
            countries[r["zone_id"]].append(r["country"])
        methods: dict[Any, list[Any]] = {i: [] for i in ids}
        prices: dict[Any, list[MethodPrice]] = {}
        for r in await self.db.fetch("SELECT id, zone_id, name FROM shipping_method WHERE zone_id = ANY($1::uuid[]) "
                                     "ORDER BY created_at, id", ids):
            methods[r["zone_id"]].append(r)
            prices[r["id"]] = []
        for r in await self.db.fetch("SELECT method_id, currency, price_minor FROM shipping_method_price "
                                     "WHERE method_id = ANY($1::uuid[]) ORDER BY currency", list(prices)):
            prices[r["method_id"]].append(MethodPrice(currency=r["currency"], price_minor=r["price_minor"]))
        return [Zone(id=str(z["id"]), name=z["name"], countries=tuple(countries[z["id"]]),
                     methods=tuple(ShippingMethodAdmin(id=str(m["id"]), name=m["name"], prices=tuple(prices[m["id"]]))
                                   for m in methods[z["id"]]),
                     created_at=iso(z["created_at"])) for z in zones]

    async def list_zones(self, req: ListZones, ctx: CallContext) -> tuple[Zone, ...]:
        rows = await self.db.fetch("SELECT id, name, created_at FROM shipping_zone ORDER BY created_at, id")
        return tuple(await self._zones(list(rows)))

    @staticmethod
    def _countries(countries: tuple[str, ...]) -> list[str]:
        if len(countries) > MAX_COUNTRIES:
            raise BusError(Status.INVALID_ARGUMENT, "Too many countries.", reason="TOO_MANY_COUNTRIES",
                           field_errors=[("countries", f"at most {MAX_COUNTRIES}")])
        for i, c in enumerate(countries):
            if not isinstance(c, str) or len(c) != 2:
                raise BusError(Status.INVALID_ARGUMENT, "Countries are ISO 3166-1 alpha-2 codes.",
                               reason="UNKNOWN_COUNTRY", field_errors=[(f"countries[{i}]", "not a country code")])
            check_country(c, f"countries[{i}]")
        return sorted(set(countries))

    async def _set_countries(self, zid: str, countries: list[str]) -> None:
        await self.db.execute("DELETE FROM shipping_zone_country WHERE zone_id = $1", zid)
        taken = await self.db.fetch("SELECT country FROM shipping_zone_country WHERE country = ANY($1::text[]) "
                                    "ORDER BY country", countries)
        if taken:
            raise BusError(Status.ALREADY_EXISTS, "A country belongs to at most one zone.",
                           reason="COUNTRY_IN_OTHER_ZONE",
                           field_errors=[("countries", "already in another zone: "
                                                       + ", ".join(r["country"] for r in taken))])
        await self.db.execute("INSERT INTO shipping_zone_country (country, zone_id) "
                              "SELECT unnest($1::text[]), $2", countries, zid)

    async def create_zone(self, req: CreateZone, ctx: CallContext) -> Zone:
        countries = self._countries(req.countries)
        async with self.db.transaction():
            zid = str(await self.db.fetchval("INSERT INTO shipping_zone (name) VALUES ($1) RETURNING id", req.name))
            await self._set_countries(zid, countries)
        return await self._zone(zid)

    async def update_zone(self, req: UpdateZone, ctx: CallContext) -> Zone:
        zid = parse_uuid(req.id)
        if zid is None:
            raise zone_not_found()
        countries = None if req.countries is None else self._countries(req.countries)
        async with self.db.transaction():
            if await self.db.fetchval("UPDATE shipping_zone SET name = coalesce($2, name) WHERE id = $1 "
                                      "RETURNING true", zid, req.name) is None:
                raise zone_not_found()
            if countries is not None:
                await self._set_countries(zid, countries)
        return await self._zone(zid)

    async def delete_zone(self, req: ZoneId, ctx: CallContext) -> Deleted:
        zid = parse_uuid(req.id)
        if zid is None or not await self.db.fetchval("DELETE FROM shipping_zone WHERE id = $1 RETURNING true", zid):
            raise zone_not_found()
        return Deleted(id=zid, deleted=True)

    async def create_method(self, req: CreateMethod, ctx: CallContext) -> Zone:
        zid = parse_uuid(req.zone_id)
        if zid is None:
            raise zone_not_found()
        if len(req.prices) > MAX_PRICES:
            raise BusError(Status.INVALID_ARGUMENT, "Too many prices.", field_errors=[("prices", f"at most {MAX_PRICES}")])
        seen: set[str] = set()
        for i, p in enumerate(req.prices):
            check_currency(p.currency, f"prices[{i}].currency")
            if p.currency in seen:
                raise BusError(Status.INVALID_ARGUMENT, "One price per currency.", reason="DUPLICATE_CURRENCY",
                               field_errors=[(f"prices[{i}].currency", "given twice")])
            seen.add(p.currency)
        async with self.db.transaction():
            if await self.db.fetchval("SELECT 1 FROM shipping_zone WHERE id = $1 FOR UPDATE", zid) is None:
                raise zone_not_found()
            mid = await self.db.fetchval("INSERT INTO shipping_method (zone_id, name) VALUES ($1, $2) RETURNING id",
                                         zid, req.name)
            await self.db.execute(
                "INSERT INTO shipping_method_price (method_id, currency, price_minor) "
                "SELECT $1, c, p FROM unnest($2::text[], $3::bigint[]) AS t(c, p)",
                mid, [p.currency for p in req.prices], [p.price_minor for p in req.prices])
        return await self._zone(zid)

    async def delete_method(self, req: MethodRef, ctx: CallContext) -> Zone:
        zid, mid = parse_uuid(req.zone_id), parse_uuid(req.id)
        if zid is None or mid is None or not await self.db.fetchval(
                "DELETE FROM shipping_method WHERE id = $1 AND zone_id = $2 RETURNING true", mid, zid):
            raise BusError(Status.NOT_FOUND, "There is no such shipping method.", reason="METHOD_NOT_FOUND")
        return await self._zone(zid)

    # ------------------------------------------------------------ tax rates

    @staticmethod
    def _rate(r: Any) -> TaxRate:
        return TaxRate(country=r["country"], rate=r["rate"], inclusive=r["inclusive"], updated_at=iso(r["updated_at"]))

    async def list_tax_rates(self, req: ListTaxRates, ctx: CallContext) -> tuple[TaxRate, ...]:
        rows = await self.db.fetch("SELECT country, rate, inclusive, updated_at FROM shipping_tax_rate "
                                   "ORDER BY country")
        return tuple(self._rate(r) for r in rows)

    async def set_tax_rate(self, req: SetTaxRate, ctx: CallContext) -> TaxRate:
        check_country(req.country)
        row = await self.db.fetchrow(
            "INSERT INTO shipping_tax_rate (country, rate, inclusive) VALUES ($1, $2, $3) "
            "ON CONFLICT (country) DO UPDATE SET rate = EXCLUDED.rate, inclusive = EXCLUDED.inclusive, "
            "updated_at = clock_timestamp() RETURNING country, rate, inclusive, updated_at",
            req.country, req.rate, req.inclusive)
        return self._rate(row)

    async def delete_tax_rate(self, req: CountryRef, ctx: CallContext) -> Deleted:
        if not await self.db.fetchval("DELETE FROM shipping_tax_rate WHERE country = $1 RETURNING true", req.country):
            raise BusError(Status.NOT_FOUND, "No tax rate is set for this country.", reason="TAX_RATE_NOT_FOUND")
        return Deleted(id=req.country, deleted=True)

    # ------------------------------------------------------------ quote

    async def quote(self, req: Quote, ctx: CallContext) -> Quoted:
        method: ShippingMethod | None = None
        if req.method_id is not None:
            mid = parse_uuid(req.method_id)
            row = None if mid is None else await self.db.fetchrow(
                "SELECT m.id, m.name, p.price_minor, p.currency FROM shipping_method m "
                "JOIN shipping_zone_country zc ON zc.zone_id = m.zone_id AND zc.country = $2 "
                "JOIN shipping_method_price p ON p.method_id = m.id AND p.currency = $3 WHERE m.id = $1",
                mid, req.country, req.currency)
            if row is None:
                raise method_not_available()
            method = ShippingMethod(id=str(row["id"]), name=row["name"], price_minor=row["price_minor"],
                                    currency=row["currency"])
        rate = await self.db.fetchrow("SELECT rate, inclusive FROM shipping_tax_rate WHERE country = $1", req.country)
        percent, inclusive = (rate["rate"], rate["inclusive"]) if rate else ("0", False)
        taxed = apply_tax(req.line_totals_minor, method.price_minor if method else 0, percent, inclusive)
        return Quoted(subtotal_minor=taxed.subtotal_minor, shipping_minor=taxed.shipping_minor,
                      tax_minor=taxed.tax_minor, total_minor=taxed.total_minor, method=method, rate=percent,
                      inclusive=inclusive)
