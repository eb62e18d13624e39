"""OpenAPI 3.1 from the same typed definitions the REST handlers use."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Mapping
from typing import Any

from ..core.messages import SchemaSet, apply_constraints, camel, type_hints
from ..core.status import HTTP_STATUS, Status
from .rest import Route, multipart_fields

_PARAM_RE = re.compile(r"{(\w+)(?::[^}]*)?}")
_PAGING = frozenset({"page", "pageSize"})
SECURITY_SCHEME = "oauth2"

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details. `code` is the bus status name; `reason` a stable domain reason.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [s.name for s in Status]},
        "reason": {"type": "string"},
        "requestId": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}

# Response headers the kernel sets (kernel.host.app's outer middleware, kernel.web.rest).
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {"description": "The request's id (the caller's own when it sent a valid one); in logs too.",
                     "schema": {"type": "string"}},
    "RateLimit-Limit": {"description": "Requests allowed in the rate-limit window of this route's class.",
                        "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the current window.", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the window is full again.", "schema": {"type": "integer"}},
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    "Idempotent-Replayed": {"description": "Present when this is the stored first response to the same "
                                           "Idempotency-Key and body (nothing was done again).",
                            "schema": {"type": "string", "enum": ["true"]}},
    "Idempotency-Replayed": {"description": "Same as Idempotent-Replayed (both names are sent).",
                             "schema": {"type": "string", "enum": ["true"]}},
    "ETag": {"description": "Entity tag of a public read; send it back in If-None-Match to get 304.",
             "schema": {"type": "string"}},
}


def _headers(*names: str) -> dict[str, Any]:
    return {n: {"$ref": f"#/components/headers/{n}"} for n in ("X-Request-Id", *names)}


def _problem(desc: str, *headers: str) -> dict[str, Any]:
    return {"description": desc, "headers": _headers(*headers),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter cannot carry null: an optional one is simply left out."""
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            return {**branches[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def _is_public_cached_read(route: Route) -> bool:
    o = route.rpc.options
    return route.method == "GET" and o.cache is not None and not (o.scope or o.user or o.cache.vary_by_principal)


def build_openapi(routes: list[tuple[str, Route]], *, version: str, server_url: str,
                  scopes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (plugin name, route), from the types the handlers decode.

    ``scopes`` describes OAuth scopes for the security scheme; every scope a route requires is
    listed whether described there or not.
    """
    schemas = SchemaSet({"Problem": PROBLEM_SCHEMA})
    paths: dict[str, Any] = {}
    used_ids: set[str] = set()
    required_scopes: dict[str, list[str]] = {}
    for plugin, route in routes:
        rpc = route.rpc
        o = rpc.options
        op = _operation(plugin, route, schemas, used_ids)
        if o.scope:
            required_scopes.setdefault(o.scope, []).append(rpc.name)
        if o.scope or o.user:
            # A user-only method without a scope still needs a signed-in user's token.
            op["security"] = [{SECURITY_SCHEME: [o.scope] if o.scope else []}, {"sessionCookie": []}]
        oa_path = _PARAM_RE.sub(lambda m: "{" + m.group(1) + "}", route.path)
        paths.setdefault(oa_path, {})[route.method.lower()] = op
    described = dict(scopes or {})
    for scope, methods in required_scopes.items():
        described.setdefault(scope, "Required by " + ", ".join(sorted(set(methods))))
    oauth = server_url.rstrip("/") + "/oauth"
    return {
        "openapi": "3.1.0",
        "info": {"title": "shopkernel API", "version": version,
                 "description": "REST API of the shop. Money is integer minor units plus an ISO 4217 code. "
                                "Errors are RFC 9457 problem documents."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "headers": HEADERS,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "oauth2",
                    "description": "OAuth 2.1 access tokens (JWT) sent as `Authorization: Bearer`. The "
                                   "authorization-code flow requires PKCE (S256); client credentials are for "
                                   "confidential clients and cannot call methods that need a signed-in user. "
                                   f"Discovery: {server_url.rstrip('/')}/.well-known/oauth-authorization-server",
                    "flows": {
                        "authorizationCode": {"authorizationUrl": f"{oauth}/authorize", "tokenUrl": f"{oauth}/token",
                                              "refreshUrl": f"{oauth}/token", "scopes": dict(sorted(described.items()))},
                        "clientCredentials": {"tokenUrl": f"{oauth}/token", "scopes": dict(sorted(described.items()))},
                    },
                },
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "shop_session",
                                  "description": "The storefront's signed-in session (same-origin pages only)."},
            },
        },
    }


def _operation(plugin: str, route: Route, schemas: SchemaSet, used_ids: set[str]) -> dict[str, Any]:
    rpc = route.rpc
    o = rpc.options
    hints = type_hints(rpc.request_type)
    path_params = _PARAM_RE.findall(route.path)
    reverse = {v: k for k, v in route.aliases.items()}
    params: list[dict[str, Any]] = []
    body_props: dict[str, Any] = {}
    body_required: list[str] = []
    extra_docs: list[str] = []
    for f in dataclasses.fields(rpc.request_type):
        public = camel(f.name)
        name = reverse.get(public, public)
        schema = schemas.schema(hints[f.name], closed=True)
        apply_constraints(schema, f.metadata)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        grouped = [g for g, target in route.query_groups.items() if target == public]
        if grouped and not route.takes_body:
            # Prefix-keyed query keys (option.size=M) have no OpenAPI parameter form: documented in words.
            extra_docs.append(f"`{grouped[0]}<name>=<value>` (repeatable) fills `{public}`.")
            continue
        if name in path_params:
            params.append({"name": name, "in": "path", "required": True, "schema": _non_null(schema)})
        elif route.takes_body:
            body_props[name] = schema
            if required:
                body_required.append(name)
        else:
            params.append({"name": name, "in": "query", "required": required, "schema": _non_null(schema)})
    op_id = f"{plugin}_{rpc.attr}"
    n = 1
    while op_id in used_ids:  # one method behind two routes
        n += 1
        op_id = f"{plugin}_{rpc.attr}_{n}"
    used_ids.add(op_id)
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": route.summary or rpc.name,
        "tags": list(route.tags) or [plugin],
        "x-bus-method": rpc.full_name,
    }
    if extra_docs:
        op["description"] = " ".join(extra_docs)
    if o.idempotent:
        params.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Replays the first response for the same key and body; moves nothing twice.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    public_read = _is_public_cached_read(route)
    if public_read:
        params.append({"name": "If-None-Match", "in": "header", "required": False,
                       "description": "An ETag from an earlier answer: 304 when it still matches.",
                       "schema": {"type": "string"}})
    if params:
        op["parameters"] = params
    if body_props:
        body_schema: dict[str, Any] = {"type": "object", "properties": body_props, "additionalProperties": False}
        if body_required:
            body_schema["required"] = body_required
        if multipart_fields(rpc.request_type):
            # Routes with binary fields take multipart/form-data (kernel.web.rest.read_multipart).
            encoding = {name: {"contentType": "application/octet-stream"}
                        for name, prop in body_props.items() if prop.get("format") == "binary"}
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": body_schema, "encoding": encoding}}}
        else:
            op["requestBody"] = {"required": bool(body_required),
                                 "content": {"application/json": {"schema": body_schema}}}
    rate = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset") if o.rate_limit else ()
    replay = ("Idempotent-Replayed", "Idempotency-Replayed") if o.idempotent else ()
    success_headers = (*rate, *replay, *(("ETag",) if public_read else ()))
    responses: dict[str, Any] = {
        str(route.status): {"description": "Success", "headers": _headers(*success_headers),
                            "content": {"application/json": {"schema": schemas.schema(rpc.response_type,
                                                                                      closed=False)}}},
        "400": _problem("Invalid request (the `errors` array names each bad field)"),
        # Credentials that are sent are checked on every route, public ones included.
        "401": _problem("Authentication required, or the credentials sent are invalid"),
        "500": _problem("Internal error"),
        "503": _problem("A backing service is unavailable", "Retry-After"),
        "504": _problem("The request's deadline passed before it finished"),
    }
    if public_read:
        responses["304"] = {"description": "Not modified: If-None-Match matched", "headers": _headers("ETag")}
    if route.takes_body:
        # Refused by the kernel before the method runs (see kernel.web.rest.read_json_object).
        responses["408"] = _problem("The request body arrived too slowly")
        responses["413"] = _problem("The request body is larger than the server accepts")
    if o.scope or o.user:
        responses["403"] = _problem("Missing scope or role")
    # Any input other than paging can name something that does not exist (e.g. ?category=).
    names_things = any(p["name"] not in _PAGING for p in params if p["in"] != "header") or bool(body_props)
    if path_params or o.write or names_things:
        responses["404"] = _problem("Not found")
    # Writes, and any other call that acts on the caller's state (a checkout quote of an empty cart).
    if o.write or route.method != "GET":
        responses["409"] = _problem("Conflict or failed precondition (see `reason`)")
    if o.rate_limit:
        responses["429"] = _problem("Rate limited", "Retry-After", *rate)
    op["responses"] = dict(sorted(responses.items()))
    return op


def api_page(doc: dict[str, Any]) -> str:
    """A plain, readable HTML page of the API (no script needed)."""
    rows = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields = ", ".join(body.get("properties", {}))
            auth = "yes" if op.get("security") else "no"
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{html.escape(params)}</td><td>{html.escape(fields)}</td>"
                f"<td>{auth}</td><td><code>{html.escape(op['x-bus-method'])}</code></td></tr>")
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>shopkernel API</title>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<link rel=stylesheet href='/assets/kernel/explorer.css'>"
        "<link rel=stylesheet href='/assets/kernel/api.css'></head><body><main>"
        f"<h1>shopkernel API {html.escape(doc['info']['version'])}</h1>"
        "<p>Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a> (OpenAPI 3.1). "
        "GraphQL: <a href='/graphql'>/graphql</a>. Errors are RFC 9457 <code>application/problem+json</code>. "
        "Money is integer minor units plus an ISO 4217 currency code.</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Parameters</th><th>Body</th>"
        "<th>Auth</th><th>Bus method</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></main></body></html>"
    )


def http_status_for(status: Status) -> int:
    return HTTP_STATUS[status]
