"""REST adapters: a route names a bus method; the kernel does the rest.

The handler built for a :class:`Route` gathers path parameters, the query string
(GET/DELETE) or the JSON body (POST/PUT/PATCH), validates them into the method's
request type, calls the bus and returns the reply's bytes. The same definitions
generate the OpenAPI document, so docs and behaviour cannot drift apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from .context import CallContext
from .messages import DecodeError, FieldError, camel, decode, type_hints
from .service import Method
from .status import HTTP_STATUS, TITLES, BusError, Status

PROBLEM_JSON = "application/problem+json"
_INT_RE = re.compile(r"^-?\d{1,19}$")

CTX_KEY = "shop_ctx"


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, PUT, PATCH, DELETE
    path: str  # aiohttp pattern, e.g. /api/products/{slug}
    rpc: Method[Any, Any]
    status: int = 200
    summary: str = ""
    tags: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)  # public name -> request field (camelCase)
    # Build extra request fields from the HTTP request (e.g. a header); rarely needed.
    extra: Callable[[web.Request], dict[str, Any]] | None = None
    # Query keys "<prefix><name>=<value>" (repeatable) collected into a list field of {name, value}
    # objects, e.g. {"option.": "options"} turns option.size=M into options=[{name: size, value: M}].
    query_groups: dict[str, str] = field(default_factory=dict)

    @property
    def takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")


def problem(status: Status, detail: str, *, reason: str | None = None,
            errors: list[dict[str, str]] | None = None, request_id: str | None = None,
            retry_after: int | None = None) -> web.Response:
    http = HTTP_STATUS[status]
    body: dict[str, Any] = {
        "type": f"https://shopkernel.dev/problems/{(reason or status.name).lower().replace('_', '-')}",
        "title": TITLES[status],
        "status": http,
        "detail": detail,
        "code": status.name,
    }
    if reason:
        body["reason"] = reason
    if errors:
        body["errors"] = errors
    if request_id:
        body["requestId"] = request_id
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.Response(body=orjson.dumps(body), status=http, content_type=PROBLEM_JSON, headers=headers)


def problem_from(exc: BusError, request_id: str | None = None) -> web.Response:
    errors = [{"field": f, "message": m} for f, m in exc.field_errors] or None
    return problem(exc.status, exc.public_message, reason=exc.reason, errors=errors,
                   request_id=request_id, retry_after=exc.retry_after)


def bus_error_from_decode(exc: DecodeError) -> BusError:
    fields = [(e.field, e.message) for e in exc.errors]
    detail = "; ".join(f"{f} {m}" for f, m in fields)
    return BusError(Status.INVALID_ARGUMENT, detail, field_errors=fields)


def json_depth_ok(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` containers.

    Only containers are visited, and a container's members are typed in C first
    (``map(type, ...)``), so a body that is one long list of numbers costs no Python loop.
    """
    stack = [(value, 1)] if type(value) in (dict, list) else []
    while stack:
        v, d = stack.pop()
        if d > limit:
            return False
        members = v.values() if type(v) is dict else v
        kinds = set(map(type, members))
        if dict in kinds or list in kinds:
            stack.extend((x, d + 1) for x in members if type(x) in (dict, list))
    return True


async def read_json_object(request: web.Request, max_depth: int, read_timeout: float = 30.0) -> dict[str, Any]:
    try:
        # A client that trickles its body is cut off instead of holding a worker.
        async with asyncio.timeout(read_timeout):
            raw = await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout(text="request body too slow") from None
    if not raw.strip():
        return {}
    ctype = request.content_type
    if ctype not in ("application/json", "application/merge-patch+json") and not ctype.endswith("+json"):
        raise BusError(Status.INVALID_ARGUMENT, "Send a JSON body with Content-Type: application/json",
                       field_errors=[("body", "must be JSON (Content-Type: application/json)")])
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BusError(Status.INVALID_ARGUMENT, f"The body is not valid JSON: {exc.msg}",
                       field_errors=[("body", "is not valid JSON")]) from None
    if not isinstance(data, dict):
        raise BusError(Status.INVALID_ARGUMENT, "The body must be a JSON object",
                       field_errors=[("body", "must be a JSON object")])
    if not json_depth_ok(data, max_depth):
        raise BusError(Status.INVALID_ARGUMENT, f"The body nests deeper than {max_depth} levels",
                       field_errors=[("body", f"nests deeper than {max_depth} levels")])
    return data


def _scalar_kind(tp: Any) -> type | None:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else tp
    if tp in (int, bool, str):
        return typing.cast(type, tp)
    return None


def _coercions(request_type: type) -> dict[str, type | None]:
    hints = type_hints(request_type)
    return {camel(f.name): _scalar_kind(hints[f.name]) for f in dataclasses.fields(request_type)}


def _coerce(name: str, raw: str, kind: type | None) -> Any:
    if kind is int:
        if not _INT_RE.match(raw.strip()):
            raise FieldError(name, "must be an integer")
        return int(raw)
    if kind is bool:
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise FieldError(name, "must be true or false")
    return raw


def etag(body: bytes) -> str:
    """A strong validator for exactly these bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match uses."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in if_none_match.split(","))


def make_handler(route: Route, bus_getter: Callable[[web.Request], Any], max_json_depth: int,
                 read_timeout: float = 30.0) -> Callable[[web.Request], Any]:
    kinds = _coercions(route.rpc.request_type)
    aliases = route.aliases
    rpc = route.rpc
    status = route.status
    # Public cached reads are the same bytes for everyone: a validator lets clients
    # and proxies revalidate instead of downloading them again.
    etagged = route.method == "GET" and rpc.options.cache is not None and rpc.options.scope is None \
        and not rpc.options.user

    async def handler(request: web.Request) -> web.StreamResponse:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        if route.takes_body:
            data.update(await read_json_object(request, max_json_depth, read_timeout))
        else:
            for key, raw in request.query.items():
                group = next((g for g in route.query_groups if key.startswith(g)), None)
                if group is not None:
                    data.setdefault(route.query_groups[group], []).append({"name": key[len(group):], "value": raw})
                    continue
                target = aliases.get(key, key)
                try:
                    data[target] = _coerce(key, raw, kinds.get(target))
                except FieldError as exc:
                    errors.append(exc)
        for key, raw in request.match_info.items():
            target = aliases.get(key, key)
            try:
                data[target] = _coerce(key, raw, kinds.get(target))
            except FieldError as exc:
                errors.append(exc)
        if route.extra is not None:
            data.update(route.extra(request))
        if errors:
            raise bus_error_from_decode(DecodeError(errors))
        try:
            req = decode(rpc.request_type, data)
        except DecodeError as exc:
            # Report public (alias) names back.
            reverse = {v: k for k, v in aliases.items()}
            for e in exc.errors:
                e.field = reverse.get(e.field, e.field)
            raise bus_error_from_decode(exc) from None
        ctx: CallContext = request[CTX_KEY]
        reply = await bus_getter(request).invoke(rpc, req, ctx)
        if etagged and status == 200:
            tag = etag(reply.body)
            if etag_matches(request.headers.get("If-None-Match"), tag):
                return web.Response(status=304, headers={"ETag": tag})
            return web.Response(body=reply.body, status=status, content_type="application/json",
                                headers={"ETag": tag})
        resp = web.Response(body=reply.body, status=status, content_type="application/json")
        if reply.replayed:
            resp.headers["Idempotent-Replayed"] = "true"
        return resp

    handler.__name__ = f"rest_{rpc.attr}"
    return handler
