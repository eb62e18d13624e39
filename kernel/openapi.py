"""OpenAPI 3.1 from the same typed definitions the REST handlers use."""

from __future__ import annotations

import dataclasses
import html
import re
import typing
from typing import Any

from .messages import camel, json_schema, type_hints
from .rest import Route, multipart_fields
from .status import HTTP_STATUS, Status

_PARAM_RE = re.compile(r"{(\w+)(?::[^}]*)?}")
_PAGING = frozenset({"page", "pageSize"})

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details. `code` is the bus status name; `reason` a stable domain reason.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
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


def _problem(desc: str) -> dict[str, Any]:
    return {"description": desc,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def build_openapi(routes: list[tuple[str, Route]], *, version: str, server_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for plugin, route in routes:
        rpc = route.rpc
        req_type = rpc.request_type
        hints = type_hints(req_type)
        path_params = _PARAM_RE.findall(route.path)
        oa_path = _PARAM_RE.sub(lambda m: "{" + m.group(1) + "}", route.path)
        reverse = {v: k for k, v in route.aliases.items()}
        params: list[dict[str, Any]] = []
        body_props: dict[str, Any] = {}
        body_required: list[str] = []
        for f in dataclasses.fields(req_type):
            public = camel(f.name)
            name = reverse.get(public, public)
            schema = json_schema(hints[f.name], components)
            _apply_meta(schema, f.metadata)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if name in path_params:
                params.append({"name": name, "in": "path", "required": True, "schema": schema})
            elif route.takes_body:
                body_props[name] = schema
                if required:
                    body_required.append(name)
            else:
                params.append({"name": name, "in": "query", "required": required, "schema": schema})
        op: dict[str, Any] = {
            "operationId": f"{plugin}_{rpc.attr}",
            "summary": route.summary or rpc.name,
            "tags": list(route.tags) or [plugin],
            "x-bus-method": rpc.full_name,
        }
        if params:
            op["parameters"] = params
        if route.takes_body:
            body_schema: dict[str, Any] = {"type": "object", "properties": body_props, "additionalProperties": False}
            if body_required:
                body_schema["required"] = body_required
            if multipart_fields(req_type):
                # Routes with binary fields take multipart/form-data (kernel.rest.read_multipart).
                body_schema["required"] = body_required
                encoding = {name: {"contentType": "application/octet-stream"}
                            for name, s in body_props.items() if s.get("format") == "binary"}
                op["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                    "schema": body_schema, "encoding": encoding}}}
            else:
                op["requestBody"] = {"required": bool(body_required),
                                     "content": {"application/json": {"schema": body_schema}}}
        o = rpc.options
        if o.idempotent:
            op.setdefault("parameters", []).append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Replays the first response for the same key and body; moves nothing twice.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
        responses: dict[str, Any] = {
            str(route.status): {"description": "Success",
                                "content": {"application/json": {"schema": json_schema(rpc.response_type, components)}}},
            "400": _problem("Invalid request (the `errors` array names each bad field)"),
            # Credentials that are sent are checked on every route, public ones included.
            "401": _problem("Authentication required, or the credentials sent are invalid"),
            "500": _problem("Internal error"),
            "503": _problem("A backing service is unavailable"),
            "504": _problem("The request's deadline passed before it finished"),
        }
        if route.takes_body:
            # Refused by the kernel before the method runs (see kernel.rest.read_json_object).
            responses["408"] = _problem("The request body arrived too slowly")
            responses["413"] = _problem("The request body is larger than the server accepts")
        if o.scope or o.user:
            responses["403"] = _problem("Missing scope or role")
            op["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
        # Any input other than paging can name something that does not exist (e.g. ?category=).
        names_things = any(p["name"] not in _PAGING for p in params if p["in"] != "header") or bool(body_props)
        if path_params or o.write or names_things:
            responses["404"] = _problem("Not found")
        if o.write:
            responses["409"] = _problem("Conflict or failed precondition (see `reason`)")
        if o.rate_limit:
            responses["429"] = _problem("Rate limited (see Retry-After)")
        op["responses"] = responses
        paths.setdefault(oa_path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "shopkernel API", "version": version,
                 "description": "REST API of the shop. Money is integer minor units plus an ISO 4217 code."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "shop_session"},
            },
        },
    }


def _apply_meta(schema: dict[str, Any], meta: typing.Mapping[str, Any]) -> None:
    target = schema["anyOf"][0] if "anyOf" in schema else schema
    if target.get("format") == "binary":  # lengths of a file are bytes, not characters: say so in words
        if meta.get("max_len") is not None:
            schema["description"] = f"A file of at most {meta['max_len']} bytes."
        return
    if meta.get("min") is not None:
        target["minimum"] = meta["min"]
    if meta.get("max") is not None:
        target["maximum"] = meta["max"]
    if meta.get("min_len") is not None:
        target["minLength"] = meta["min_len"]
    if meta.get("max_len") is not None:
        target["maxLength"] = meta["max_len"]
    if meta.get("pattern") is not None:
        target["pattern"] = meta["pattern"].pattern
    if meta.get("doc"):
        schema["description"] = meta["doc"]


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
