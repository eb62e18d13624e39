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
from typing import Any, Protocol

import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ..core.context import CallContext
from ..core.messages import DecodeError, FieldError, camel, decode, type_hints
from ..core.service import Method, Service, is_shared_read
from ..core.status import HTTP_STATUS, TITLES, BusError, Status


class SharedAnswers(Protocol):
    """What a handler needs of kernel.web.shortpath's keeper (a protocol, so shortpath,
    which reads this module's helpers, is not imported back)."""

    @property
    def generation(self) -> int: ...

    def keep_rest(self, request: web.Request, method: Method[Any, Any], message: Any, body: bytes, tag: str,
                  generation: int) -> None: ...

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


def declared_routes(service: type[Service]) -> list[Route]:
    """The routes a service's contract declares with ``rpc(..., rest=Http(...))``."""
    return [Route(h.verb, h.path, m, status=h.status, summary=h.summary, tags=h.tags, aliases=dict(h.aliases),
                  query_groups=dict(h.query_groups))
            for m in service.methods.values() for h in m.options.rest]


def problem(status: Status, detail: str, *, reason: str | None = None,
            errors: list[dict[str, str]] | None = None, request_id: str | None = None,
            retry_after: int | None = None, http_status: int | None = None) -> web.Response:
    http = http_status or HTTP_STATUS[status]
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


# ------------------------------------------------------------------ multipart/form-data
#
# A route whose request type has ``bytes`` fields takes multipart/form-data: file parts
# fill the bytes fields, text parts the others (coerced like query parameters). Sizes are
# enforced while the body streams in, so nothing beyond a field's ``max_len`` is buffered.

MULTIPART = "multipart/form-data"
_FORM_TEXT_MAX = 64 * 1024  # bytes of one text part, whatever its field's max_len
_CHUNK = 64 * 1024


class PayloadTooLarge(Exception):
    def __init__(self, field: str, limit: int) -> None:
        super().__init__(f"{field} is larger than {limit} bytes")
        self.field = field
        self.limit = limit


def multipart_fields(request_type: type) -> dict[str, int | None]:
    """The request's binary fields (camelCase) and their byte limits (``max_len``); empty: a JSON route."""
    hints = type_hints(request_type)
    out: dict[str, int | None] = {}
    for f in dataclasses.fields(request_type):
        tp = hints[f.name]
        if tp is bytes or bytes in typing.get_args(tp):
            out[camel(f.name)] = f.metadata.get("max_len")
    return out


def authorize_early(rpc: Method[Any, Any], ctx: CallContext) -> None:
    """The bus checks scopes too; a streamed upload is refused before its body is read."""
    o = rpc.options
    p = ctx.principal
    if (o.scope or o.user) and not p.is_authenticated:
        raise BusError(Status.UNAUTHENTICATED, "Sign in to do this.", reason="UNAUTHENTICATED")
    if o.scope and not p.has_scope(o.scope):
        raise BusError(Status.PERMISSION_DENIED, f"This needs the '{o.scope}' scope.", reason="MISSING_SCOPE")


async def _read_part(part: Any, limit: int, field_name: str) -> bytes:
    buf = bytearray()
    while True:
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            return bytes(buf)
        if len(buf) + len(chunk) > limit:
            raise PayloadTooLarge(field_name, limit)
        buf.extend(chunk)


async def read_multipart(request: web.Request, files: dict[str, int | None], kinds: dict[str, type | None],
                         aliases: dict[str, str], default_max: int, read_timeout: float) -> dict[str, Any]:
    """Form fields by request-field name; a file part stops being read at its field's limit."""
    if request.content_type != MULTIPART:
        raise BusError(Status.INVALID_ARGUMENT, "Send the body as multipart/form-data",
                       field_errors=[("body", "must be multipart/form-data")])
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    try:
        async with asyncio.timeout(read_timeout):
            reader = await request.multipart()
            parts = 0
            while (part := await reader.next()) is not None:
                parts += 1
                if parts > len(kinds) + 4:  # a client sending hundreds of parts is not filling our form
                    raise BusError(Status.INVALID_ARGUMENT, "Too many form parts",
                                   field_errors=[("body", "has too many parts")])
                if not isinstance(part, BodyPartReader):  # nested multipart: not a form we know
                    raise BusError(Status.INVALID_ARGUMENT, "Nested multipart bodies are not accepted",
                                   field_errors=[("body", "must be flat multipart/form-data")])
                name = part.name or ""
                target = aliases.get(name, name)
                if target in data:
                    errors.append(FieldError(name, "is given more than once"))
                    continue
                if target in files:
                    data[target] = await _read_part(part, files[target] or default_max, name)
                    continue
                raw = await _read_part(part, _FORM_TEXT_MAX, name)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    errors.append(FieldError(name, "must be UTF-8 text"))
                    continue
                try:
                    data[target] = _coerce(name, text, kinds.get(target))
                except FieldError as exc:
                    errors.append(exc)
    except TimeoutError:
        raise web.HTTPRequestTimeout(text="request body too slow") from None
    except (ValueError, AssertionError, LookupError, HttpProcessingError) as exc:  # a malformed multipart body
        raise BusError(Status.INVALID_ARGUMENT, f"The multipart body is malformed: {exc}",
                       field_errors=[("body", "is not valid multipart/form-data")]) from None
    if errors:
        raise bus_error_from_decode(DecodeError(errors))
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


def _check_path_params(request_type: type, match_info: Any, kinds: dict[str, type | None],
                       aliases: dict[str, str]) -> None:
    """Validate only the path parameters of ``request_type`` (other fields' errors are ignored here)."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, raw in match_info.items():
        target = aliases.get(key, key)
        try:
            data[target] = _coerce(key, raw, kinds.get(target))
        except FieldError as exc:
            errors.append(exc)
    if not errors:
        try:
            decode(request_type, data)
        except DecodeError as exc:
            reverse = {v: k for k, v in aliases.items()}
            errors = [e for e in exc.errors if e.field in data]
            for e in errors:
                e.field = reverse.get(e.field, e.field)
    if errors:
        raise bus_error_from_decode(DecodeError(errors))


def make_handler(route: Route, bus_getter: Callable[[web.Request], Any], max_json_depth: int,
                 read_timeout: float = 30.0, max_body_bytes: int = 1_048_576,
                 answers: SharedAnswers | None = None) -> Callable[[web.Request], Any]:
    kinds = _coercions(route.rpc.request_type)
    aliases = route.aliases
    rpc = route.rpc
    status = route.status
    files = multipart_fields(rpc.request_type) if route.takes_body else {}
    # Public cached reads are the same bytes for everyone: a validator lets clients
    # and proxies revalidate instead of downloading them again.
    etagged = route.method == "GET" and rpc.options.cache is not None and rpc.options.scope is None \
        and not rpc.options.user
    # The same answer for every caller: kept whole for the short path (kernel.web.shortpath).
    kept = answers if route.method == "GET" and is_shared_read(rpc) else None

    async def handler(request: web.Request) -> web.StreamResponse:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        if files:
            # Before the body streams in: bad path parameters are 400 (as on JSON routes, where they are
            # decoded before the bus checks scopes), then the caller must be allowed to upload at all.
            _check_path_params(rpc.request_type, request.match_info, kinds, aliases)
            authorize_early(rpc, request[CTX_KEY])
            try:
                data.update(await read_multipart(request, files, kinds, aliases, max_body_bytes, read_timeout))
            except PayloadTooLarge as exc:
                return problem(Status.INVALID_ARGUMENT, f"{exc.field} is larger than {exc.limit} bytes",
                               reason="PAYLOAD_TOO_LARGE", errors=[{"field": exc.field,
                                                                    "message": f"must be at most {exc.limit} bytes"}],
                               request_id=request.get("request_id"), http_status=413)
        elif route.takes_body:
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
        generation = kept.generation if kept is not None else 0
        reply = await bus_getter(request).invoke(rpc, req, ctx)
        if etagged and status == 200:
            tag = etag(reply.body)
            if kept is not None:
                kept.keep_rest(request, rpc, req, reply.body, tag, generation)
            if etag_matches(request.headers.get("If-None-Match"), tag):
                return web.Response(status=304, headers={"ETag": tag})
            return web.Response(body=reply.body, status=status, content_type="application/json",
                                headers={"ETag": tag})
        if status == 204:  # No Content: the answer's body is dropped (it only says what the status says)
            resp = web.Response(status=204)
        else:
            resp = web.Response(body=reply.body, status=status, content_type="application/json")
        if reply.replayed:
            # Both spellings: the IETF draft's header is not settled; Stripe clients read
            # Idempotent-Replayed, the issue and some SDKs Idempotency-Replayed.
            resp.headers["Idempotent-Replayed"] = "true"
            resp.headers["Idempotency-Replayed"] = "true"
        return resp

    handler.__name__ = f"rest_{rpc.attr}"
    return handler
