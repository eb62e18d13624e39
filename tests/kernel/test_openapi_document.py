"""The OpenAPI document: valid, and shaped so that client generators produce good code.

Built from the whole shop (every installed plugin) as ``/api/openapi.json`` serves it.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from openapi_spec_validator import validate

from kernel.core.messages import SchemaSet, Timestamp, Uuid, decode, encode, message
from kernel.core.service import Method
from kernel.host.app import create_app, runtime_of

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def shop() -> tuple[dict[str, Any], dict[str, Method[Any, Any]]]:
    from tests.conftest import base_settings

    # The document is built at create_app time: no database or Redis connection is made.
    app = create_app(base_settings("postgresql://postgres@127.0.0.1:5432/unused", "redis://127.0.0.1:6379/0"))
    rt = runtime_of(app)
    assert rt.openapi is not None
    return rt.openapi, {m.full_name: m for m in rt.bus.methods()}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()
            if method in METHODS]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def reachable_objects(doc: dict[str, Any], schema: dict[str, Any], seen: set[str] | None = None) -> list[Any]:
    """Every object schema reachable from ``schema`` (through $ref, anyOf, items, properties)."""
    seen = set() if seen is None else seen
    out: list[Any] = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return out
        seen.add(name)
        return reachable_objects(doc, doc["components"]["schemas"][name], seen)
    if schema.get("type") == "object":
        out.append(schema)
    for sub in [*schema.get("anyOf", []), *([schema["items"]] if "items" in schema else []),
                *schema.get("properties", {}).values()]:
        out += reachable_objects(doc, sub, seen)
    return out


def test_the_document_is_valid_openapi_3_1(shop):
    doc, _ = shop
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises with the offending path when invalid


def test_operation_ids_are_unique(shop):
    doc, _ = shop
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)) and len(ids) >= 25


def test_security_names_the_scope_each_bus_method_requires_and_public_operations_have_none(shop):
    doc, methods = shop
    scheme = doc["components"]["securitySchemes"]["oauth2"]
    declared = set(scheme["flows"]["authorizationCode"]["scopes"])
    for path, verb, op in operations(doc):
        options = methods[op["x-bus-method"]].options
        if options.scope or options.user:
            assert op["security"][0] == {"oauth2": [options.scope] if options.scope else []}, (path, verb)
            assert "403" in op["responses"]
            if options.scope:
                assert options.scope in declared
        else:
            assert "security" not in op, (path, verb)
    assert "security" not in doc  # no global requirement: public reads stay public


# The v0.2 contract's routes (spec: "Fulfilment", "Payments", "Events and webhooks") and the scope each needs
# (None: public). A route missing from the document, or documented with another scope, fails here.
V02_ROUTES = {
    ("get", "/api/me/addresses"): "addresses", ("post", "/api/me/addresses"): "addresses",
    ("patch", "/api/me/addresses/{id}"): "addresses", ("delete", "/api/me/addresses/{id}"): "addresses",
    ("get", "/api/shipping-methods"): None,
    ("get", "/api/admin/shipping-zones"): "shipping:manage", ("post", "/api/admin/shipping-zones"): "shipping:manage",
    ("patch", "/api/admin/shipping-zones/{id}"): "shipping:manage",
    ("delete", "/api/admin/shipping-zones/{id}"): "shipping:manage",
    ("post", "/api/admin/shipping-zones/{zoneId}/methods"): "shipping:manage",
    ("delete", "/api/admin/shipping-zones/{zoneId}/methods/{id}"): "shipping:manage",
    ("get", "/api/admin/tax-rates"): "shipping:manage", ("put", "/api/admin/tax-rates/{country}"): "shipping:manage",
    ("delete", "/api/admin/tax-rates/{country}"): "shipping:manage",
    ("get", "/api/admin/orders"): "orders:manage", ("get", "/api/admin/orders/{id}"): "orders:manage",
    ("post", "/api/admin/orders/{id}/fulfillments"): "orders:manage",
    ("post", "/api/admin/orders/{id}/refunds"): "orders:manage", ("get", "/api/admin/customers"): "orders:manage",
    ("get", "/api/guest-orders/{token}"): None,
    ("post", "/api/orders/checkout"): "orders:write",
    ("get", "/api/payments/{id}"): "payments:write", ("post", "/api/payments/{id}/confirm"): "payments:write",
    ("post", "/test-provider/tokens"): None,
    ("post", "/api/admin/webhooks"): "admin", ("get", "/api/admin/webhooks"): "admin",
    ("delete", "/api/admin/webhooks/{id}"): "admin", ("get", "/api/admin/webhooks/{id}/deliveries"): "admin",
    ("post", "/api/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver"): "admin",
    # Catalog administration: catalog:write (admin implies it), so an ERP with orders:manage cannot.
    ("post", "/api/admin/categories"): "catalog:write", ("post", "/api/admin/products"): "catalog:write",
    ("patch", "/api/admin/products/{id}"): "catalog:write", ("put", "/api/admin/products/{id}/stock"): "catalog:write",
    ("post", "/api/admin/products/{id}/images"): "catalog:write",
}


def test_every_v02_route_is_documented_with_the_scope_it_needs(shop):
    doc, _ = shop
    declared = set(doc["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"])
    for (verb, path), scope in V02_ROUTES.items():
        op = doc["paths"].get(path, {}).get(verb)
        assert op is not None, f"{verb.upper()} {path} is not in the OpenAPI document"
        if scope is None:
            assert "security" not in op, (verb, path)
        else:
            assert op["security"][0] == {"oauth2": [scope]}, (verb, path, op.get("security"))
            assert scope in declared and {"401", "403"} <= set(op["responses"]), (verb, path)


def test_oauth2_offers_authorization_code_and_client_credentials_at_the_issuer(shop):
    doc, _ = shop
    issuer = doc["servers"][0]["url"].rstrip("/")
    flows = doc["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["authorizationUrl"] == f"{issuer}/oauth/authorize"
    assert flows["authorizationCode"]["tokenUrl"] == flows["clientCredentials"]["tokenUrl"] == f"{issuer}/oauth/token"
    assert "PKCE" in doc["components"]["securitySchemes"]["oauth2"]["description"]
    assert {"cart:write", "orders:read", "orders:write", "wallet:read", "wallet:write", "admin"} <= set(
        flows["clientCredentials"]["scopes"])


def test_statuses_and_kinds_are_enums_and_ids_and_times_have_formats(shop):
    doc, _ = shop
    schemas = doc["components"]["schemas"]
    order = schemas["Order"]["properties"]
    assert order["status"] == {"type": "string",
                               "enum": ["pending", "awaiting_payment", "paid", "cancelled", "refunded", "fulfilled",
                                        "partially_refunded"]}
    assert order["paymentMethod"]["enum"] == ["wallet", "card"]
    assert order["id"]["format"] == "uuid" and order["createdAt"]["format"] == "date-time"
    assert order["cancelledAt"]["anyOf"][0]["format"] == "date-time"
    assert schemas["LedgerEntry"]["properties"]["kind"]["type"] == "string"
    assert "transfer_in" in schemas["LedgerEntry"]["properties"]["kind"]["enum"]
    assert schemas["Product"]["properties"]["id"]["format"] == "uuid"
    assert schemas["User"]["properties"]["createdAt"]["format"] == "date-time"
    admin_orders = {p["name"]: p for p in doc["paths"]["/api/admin/orders"]["get"]["parameters"]}
    assert admin_orders["status"]["schema"]["enum"] == ["pending", "awaiting_payment", "paid", "cancelled",
                                                        "refunded", "fulfilled", "partially_refunded"]
    assert {"email", "updatedSince", "page", "pageSize"} <= set(admin_orders)


def test_parameters_are_never_nullable(shop):
    doc, _ = shop
    for path, verb, op in operations(doc):
        for param in op.get("parameters", []):
            schema = param["schema"]
            assert "anyOf" not in schema and schema.get("type") != "null", (path, verb, param["name"])
            if param["in"] == "path":
                assert param["required"] is True


def test_responses_allow_added_fields_and_request_bodies_refuse_unknown_ones(shop):
    doc, _ = shop
    bodies = 0
    for path, verb, op in operations(doc):
        for status, response in op["responses"].items():
            for content in response.get("content", {}).values():
                for obj in reachable_objects(doc, content["schema"]):
                    assert obj.get("additionalProperties") is not False, (path, verb, status)
        if "requestBody" in op:
            bodies += 1
            for content in op["requestBody"]["content"].values():  # JSON, or multipart for uploads
                for obj in reachable_objects(doc, content["schema"]):
                    assert obj["additionalProperties"] is False, (path, verb)
    assert bodies >= 10


def test_errors_are_rfc9457_problems_and_documented_headers_match_the_route(shop):
    doc, methods = shop
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, verb, op in operations(doc):
        options = methods[op["x-bus-method"]].options
        responses = op["responses"]
        for status, response in responses.items():
            assert "X-Request-Id" in response["headers"], (path, verb, status)
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": problem}}, (path, verb)
        success = next(r for s, r in responses.items() if s.startswith("2"))
        rate = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
        assert (rate <= set(success["headers"])) == bool(options.rate_limit), (path, verb)
        if options.rate_limit:
            assert {"Retry-After", *rate} <= set(responses["429"]["headers"])
        assert ("Idempotent-Replayed" in success["headers"]) == options.idempotent, (path, verb)
        public_cached = options.cache is not None and not (options.scope or options.user)
        assert ("ETag" in success["headers"]) == (public_cached and verb == "get"), (path, verb)
    for name in ("X-Request-Id", "RateLimit-Limit", "Retry-After", "Idempotent-Replayed", "ETag"):
        assert "schema" in doc["components"]["headers"][name]


# --------------------------------------------------------------- the schema builder itself


@message
class Point:
    id: Uuid
    at: Timestamp
    mood: Literal["calm", "busy"]
    note: str | None = None


def test_a_message_used_as_input_and_output_gets_a_closed_and_an_open_component():
    schemas = SchemaSet()
    assert schemas.schema(Point, closed=False) == {"$ref": "#/components/schemas/Point"}
    assert schemas.schema(Point, closed=True) == {"$ref": "#/components/schemas/PointInput"}
    assert schemas.schema(Point, closed=False) == {"$ref": "#/components/schemas/Point"}  # stable
    assert "additionalProperties" not in schemas.components["Point"]
    assert schemas.components["PointInput"]["additionalProperties"] is False
    props = schemas.components["Point"]["properties"]
    assert props["id"] == {"type": "string", "format": "uuid"}
    assert props["mood"] == {"type": "string", "enum": ["calm", "busy"]}


def test_a_mapping_is_an_object_of_typed_values():
    assert SchemaSet().schema(dict[str, int]) == {
        "type": "object", "additionalProperties": {"type": "integer", "format": "int64",
                                                   "minimum": -(2**63), "maximum": 2**63 - 1}}


def test_two_messages_with_one_name_get_two_components():
    other = message(type("Point", (), {"__annotations__": {"x": int}, "__module__": "plugins.elsewhere.contract"}))
    schemas = SchemaSet()
    first, second = schemas.schema(Point), schemas.schema(other)
    assert first != second and len(schemas.components) == 2


def test_formats_and_enums_do_not_change_values_on_the_wire():
    data = {"id": "0b6c4a2e-9a52-4a0b-8f6b-0d7b4c1f2e3a", "at": "2026-12-01T00:00:00Z", "mood": "calm"}
    point = decode(Point, data)
    assert isinstance(point.id, str) and encode(point) == {**data, "note": None}
    with pytest.raises(Exception, match="mood"):
        decode(Point, {**data, "mood": "angry"})
