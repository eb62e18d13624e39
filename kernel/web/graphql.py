"""GraphQL: the enabled plugins' SDL fragments composed into one tartiflette engine.

This module and nothing else imports tartiflette (the engine is unmaintained
upstream, so it must stay replaceable). Plugins contribute a :class:`GraphQLPart`
with SDL using ``extend type Query`` / ``extend type Mutation`` and resolvers that
are, like REST adapters, thin calls to bus methods (see :func:`bus_field`).

Before a query runs it is checked against depth, alias and cost limits (and
introspection, when switched off) so that a query asking for hundreds of aliased
pages is refused without running.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from tartiflette import Resolver, Scalar, create_engine
from tartiflette.constants import UNDEFINED_VALUE
from tartiflette.language.ast import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    VariableNode,
)
from tartiflette.language.parsers.libgraphqlparser import parse_to_document
from tartiflette.types.exceptions.tartiflette import TartifletteError

from ..core.context import CallContext
from ..core.messages import INT64_MAX, INT64_MIN, DecodeError, decode
from ..core.service import Method, Service
from ..core.status import HIDDEN, HTTP_STATUS, BusError, Status
from ..engine.bus import note_rate_limit
from .gqlscan import ScanLimits, check_variables, scan
from .gqltypes import LONG, LONG_SDL, generate, handwritten_types

log = logging.getLogger("shop.kernel.graphql")

BASE_SDL = '''
"""Queries. Each plugin extends this type."""
type Query {
  "The shop's version."
  shopVersion: String!
}

"""Mutations. Each plugin extends this type."""
type Mutation {
  "Always true; present so that plugins can extend Mutation."
  ping: Boolean!
}
'''

ResolverFn = Callable[[Any, dict[str, Any], dict[str, Any], Any], Awaitable[Any]]


@dataclass
class GraphQLPart:
    """A plugin's GraphQL: root fields declared in SDL, bound and typed from the contract.

    ``sdl`` holds the ``extend type Query/Mutation`` root fields (and ``extend type`` of
    another plugin's type). Each method of ``services`` declared with
    ``rpc(..., graphql="Query.x")`` gets its :func:`bus_field` resolver here; ``resolvers``
    adds the others and replaces a generated one that needs reshaping (same name). The
    object, input and enum types those fields return and take are generated
    (kernel.web.gqltypes) from the request and response messages of the bus methods behind
    ``resolvers`` and ``fields``; ``types`` adds messages no bus field returns. A type
    defined by hand in ``sdl`` that is also generated is a startup error.
    """

    sdl: str
    resolvers: dict[str, ResolverFn] = field(default_factory=dict)
    # Bus methods each top-level field calls, for the parity meta-test and docs.
    fields: dict[str, Method[Any, Any]] = field(default_factory=dict)
    types: tuple[type, ...] = ()
    services: tuple[type[Service], ...] = ()

    def __post_init__(self) -> None:
        bound = {name: bus_field(m, null_if_not_found=m.options.graphql_null_if_not_found)
                 for service in self.services for m in service.methods.values() for name in m.options.graphql}
        self.resolvers = {**bound, **self.resolvers}


def sdl_beside(module_file: str) -> str:
    """The ``schema.graphql`` next to a plugin module (``sdl_beside(__file__)``)."""
    return (Path(module_file).parent / "schema.graphql").read_text(encoding="utf-8")


class ResponseDeps:
    """What one GraphQL response was built from, to decide whether and how to cache it.

    A response may be cached whole only if every resolver that ran was a cached bus
    read (or declared pure); its tags are the union of those reads' tags, so the
    writes that invalidate the reads invalidate the response too.
    """

    __slots__ = ("cacheable", "calls", "tags", "ttl")

    def __init__(self) -> None:
        self.cacheable = True
        self.tags: set[str] = set()
        self.ttl = 300
        # Every bus call made, in order: a cache hit admits the caller as these calls would.
        self.calls: list[Method[Any, Any]] = []

    def add(self, method: Method[Any, Any], request: Any) -> None:
        self.calls.append(method)
        policy = method.options.cache
        key = policy.key(request) if policy is not None else None
        if policy is None or key is None or policy.vary_by_principal:
            self.cacheable = False
            return
        self.tags.add(key)
        self.tags.update(policy.tags(request))
        self.ttl = min(self.ttl, policy.ttl)


def pure(fn: ResolverFn) -> ResolverFn:
    """Mark a resolver that only reshapes its parent (no I/O, no caller-specific data)."""
    setattr(fn, "pure", True)  # noqa: B010
    return fn


# A JSON object with free keys (e.g. a variant's {"size": "M"}) has no GraphQL type: it
# travels as a list of {name, value} pairs, reshaped here on the way in and out.


def pairs_as_object(argument: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """``bus_field(args=...)``: the argument's [{name, value}] list as the bus's object.

    A name given twice is kept visible as an invalid (null) value instead of being lost.
    """

    def reshape(arguments: dict[str, Any], parent: Any) -> dict[str, Any]:
        pairs = arguments.get(argument)
        if pairs is not None:
            out: dict[str, Any] = {}
            for pair in pairs:
                out[pair["name"]] = pair["value"] if pair["name"] not in out else None
            arguments[argument] = out
        return arguments

    return reshape


def object_as_pairs(key: str) -> ResolverFn:
    """A resolver serving the parent's ``key`` object as a list of {name, value} pairs."""

    @pure
    async def resolve(parent: Any, args: dict[str, Any], ctx: Any, info: Any) -> list[dict[str, Any]]:
        return [{"name": k, "value": v} for k, v in (parent.get(key) or {}).items()]

    return resolve


def bus_field(method: Method[Any, Any], *, args: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None,
              pick: Callable[[Any], Any] | None = None, null_if_not_found: bool = False) -> ResolverFn:
    """A resolver that decodes the GraphQL arguments into the method's request and calls it.

    ``args(arguments, parent)`` may reshape arguments (default: as given); ``pick``
    may reshape the JSON-ready result (default: as returned by the bus);
    ``null_if_not_found`` answers null instead of a NOT_FOUND error (nullable fields).
    """

    async def resolve(parent: Any, arguments: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
        # Nulls first (GraphQL's "not given"), then the plugin's reshaping, whose values are its own.
        data = _without_nulls(arguments)
        if args is not None:
            data = {k: v for k, v in args(data, parent).items() if v is not None}
        ctx: CallContext = gctx["ctx"]
        if "idempotencyKey" in data:
            ctx = ctx.with_principal(ctx.principal)
            ctx.idempotency_key = data.pop("idempotencyKey")
        try:
            request = decode(method.request_type, data)
        except DecodeError as exc:
            fields = [(e.field, e.message) for e in exc.errors]
            raise BusError(Status.INVALID_ARGUMENT, "; ".join(f"{f} {m}" for f, m in fields),
                           field_errors=fields) from None
        deps: ResponseDeps | None = gctx.get("deps")
        if deps is not None:
            deps.add(method, request)
        try:
            reply = await gctx["bus"].invoke(method, request, ctx)
        except BusError as exc:
            if null_if_not_found and exc.status is Status.NOT_FOUND:
                return None
            raise
        finally:
            if ctx is not gctx["ctx"] and ctx.rate_limit is not None:
                # A copy (for its idempotency key) took the rate-limit state: the response needs it.
                note_rate_limit(gctx["ctx"], ctx.rate_limit)
        value = orjson.loads(reply.body)
        return value if pick is None else pick(value)

    resolve.__name__ = f"gql_{method.attr}"
    setattr(resolve, "bus_method", method)  # noqa: B010  (read by the parity meta-test)
    # The field's type is generated from the method's response message unless ``pick`` reshapes it.
    setattr(resolve, "returns_reply", pick is None)  # noqa: B010
    return resolve


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    """GraphQL's null for an optional argument or input field means "not given": the message's default."""
    return {k: _without_nulls(v) if isinstance(v, dict) else v for k, v in data.items() if v is not None}


def _long_scalar(schema_name: str) -> None:
    """``Long``: a 64-bit integer (money), written and read as a JSON number, as REST does."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
            raise TypeError(f"Long cannot represent < {value!r} >: it takes a 64-bit integer.")
        return value

    class ScalarLong:
        def coerce_output(self, value: Any) -> int:
            return check(value)

        def coerce_input(self, value: Any) -> int:
            return check(value)

        def parse_literal(self, ast: Any) -> Any:
            if not isinstance(ast, IntValueNode):
                return UNDEFINED_VALUE
            value = int(ast.value)
            return value if INT64_MIN <= value <= INT64_MAX else UNDEFINED_VALUE

    Scalar(LONG, schema_name=schema_name)(ScalarLong)


_MAX_NESTING = 64


class QueryLimits:
    def __init__(self, max_depth: int, max_aliases: int, max_cost: int, introspection: bool,
                 scan: ScanLimits | None = None) -> None:
        self.max_depth = max_depth
        self.max_aliases = max_aliases
        self.max_cost = max_cost
        self.introspection = introspection
        self.scan = scan or ScanLimits(max_nesting=max(_MAX_NESTING, 4 * max_depth))


_PAGE_ARGS = ("pageSize", "first", "limit")


def _page_multiplier(arg: Any, variables: dict[str, Any]) -> int:
    """How many items a list field asks for: a literal or a variable's value (as sent, or its default)."""
    value = arg.value
    if isinstance(value, VariableNode):
        raw: Any = variables.get(value.name.value)
    else:
        raw = getattr(value, "value", None)
    if isinstance(raw, bool):
        return 20
    try:
        return max(1, min(int(raw), 100))
    except (TypeError, ValueError):
        return 20


def _variable_values(document: Any, variables: dict[str, Any] | None) -> dict[str, Any]:
    """The variables as sent, completed with the defaults their definitions declare."""
    values: dict[str, Any] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for var in definition.variable_definitions or ():
                default = getattr(var.default_value, "value", None)
                if default is not None:
                    values.setdefault(var.variable.name.value, default)
    values.update(variables or {})
    return values


def _analyse(document: Any, variables: dict[str, Any] | None = None) -> tuple[int, int, int, bool]:
    """(max depth, aliases, cost, uses introspection) of a parsed document.

    The cost counts page sizes passed as variables with the values actually sent.
    """
    values = _variable_values(document, variables)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    aliases = 0
    introspects = False
    spread_cache: dict[tuple[str, bool, int], tuple[int, int]] = {}

    def walk(selection_set: Any, depth: int, seen: frozenset[str], intro: bool = False,
             mult: int = 1) -> tuple[int, int]:
        """(depth, cost) of a selection set whose parent asked for ``mult`` items: each
        sub-object is counted once per item, scalars beside them (``total``) once."""
        nonlocal aliases, introspects
        if selection_set is None:
            return depth, 0
        max_d, cost = depth, 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.alias is not None:
                    aliases += 1
                inside = intro or sel.name.value in ("__schema", "__type")
                introspects = introspects or inside
                # A list-ish field's page size multiplies the objects it selects.
                own = 1
                for arg in sel.arguments or ():
                    if arg.name.value in _PAGE_ARGS:
                        own = _page_multiplier(arg, values)
                # An introspection ``ofType`` chain unwraps one type reference (List/NonNull):
                # linear and bounded by the schema, so it adds no depth. Standard tools' full
                # introspection query nests it 7 deep and must not be refused as a depth bomb.
                step = 0 if inside and sel.name.value == "ofType" else 1
                d, c = walk(sel.selection_set, depth + step, seen, inside, own)
                max_d = max(max_d, d)
                cost += (1 + c) * (mult if sel.selection_set is not None else 1)
            elif isinstance(sel, InlineFragmentNode):
                d, c = walk(sel.selection_set, depth, seen, intro, mult)
                max_d, cost = max(max_d, d), cost + c
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = fragments.get(name)
                if frag is None or name in seen:
                    continue  # unknown or cyclic: validation reports it
                # Once per fragment: spreads that fan out (F0 spreads F1 twice, F1 spreads F2
                # twice, ...) would otherwise be walked 2**n times.
                key = (name, intro, mult)
                if key not in spread_cache:
                    spread_cache[key] = walk(frag.selection_set, 0, seen | {name}, intro, mult)
                d, c = spread_cache[key]
                max_d, cost = max(max_d, depth + d), cost + c
        return max_d, cost

    depth = cost = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            d, c = walk(definition.selection_set, 0, frozenset())
            depth, cost = max(depth, d), max(cost, c)
    return depth, aliases, cost, introspects


_U_ESCAPE = re.compile(r'\\u([0-9A-Fa-f]{4})(?:\\u([0-9A-Fa-f]{4}))?')
_STRING = re.compile(r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n])*"|#[^\n]*')


def _unescape_non_ascii(query: str) -> str:
    """Write ``\\uXXXX`` escapes of non-ASCII characters in string literals as the characters.

    libgraphqlparser turns such an escape into one raw byte, not UTF-8, and the engine then
    fails to read its own parse tree (a 500 for ``"\\u00e9"``). Block strings keep escapes
    literally (spec), comments are left alone; a lone surrogate is refused.
    """
    if "\\u" not in query:
        return query

    def char(m: re.Match[str]) -> str:
        hi = int(m.group(1), 16)
        lo = int(m.group(2), 16) if m.group(2) else None
        if 0xD800 <= hi < 0xDC00 and lo is not None and 0xDC00 <= lo < 0xE000:
            return chr(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
        if 0xD800 <= hi < 0xE000:
            raise BusError(Status.INVALID_ARGUMENT, "A string has a lone UTF-16 surrogate escape.",
                           field_errors=[("query", "has a lone \\u surrogate escape")])
        rest = "" if lo is None else char(_U_ESCAPE.match(m.group(0)[6:]))  # type: ignore[arg-type]
        return (m.group(0)[:6] if hi < 0x80 else chr(hi)) + rest

    def literal(m: re.Match[str]) -> str:
        text = m.group(0)
        if not text.startswith('"') or text.startswith('"""'):
            return text
        # An escaped backslash followed by "u" is not an escape: split on "\\\\" first.
        return "\\\\".join(_U_ESCAPE.sub(char, part) for part in text.split("\\\\"))

    return _STRING.sub(literal, query)


@dataclass(frozen=True)
class Prepared:
    """A query parsed and validated once, with what does not depend on its variables."""

    query: str
    document: Any  # None on a syntax error
    errors: Any  # the engine's parse/validation errors, or None
    read_only: bool


@dataclass
class Outcome:
    """A GraphQL HTTP answer: body and status (400 refused before running, 429 rate-limited)."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def refusal(exc: BusError, request_id: str | None = None) -> Outcome:
    """A request refused before any field ran (limits, bad credentials, CSRF, an unreadable body):
    a GraphQL error document with ``extensions.code``, never a REST problem document."""
    err = error_dict(exc)
    if request_id:
        err["extensions"]["requestId"] = request_id
    body = orjson.dumps({"data": None, "errors": [err]})
    if exc.status is Status.RESOURCE_EXHAUSTED:
        return Outcome(body, 429, {"Retry-After": str(exc.retry_after or 1)})
    if exc.status is Status.UNAVAILABLE:
        return Outcome(body, 503, {"Retry-After": str(exc.retry_after or 2)})
    if exc.status is Status.UNAUTHENTICATED:
        challenge = 'Bearer realm="shop", error="invalid_token"' if exc.reason == "INVALID_TOKEN" else 'Bearer realm="shop"'
        return Outcome(body, 401, {"WWW-Authenticate": challenge})
    if exc.status in (Status.DEADLINE_EXCEEDED, Status.INTERNAL):
        return Outcome(body, HTTP_STATUS[exc.status])
    return Outcome(body, 403 if exc.status is Status.PERMISSION_DENIED else 400)




def part_methods(part: GraphQLPart) -> list[tuple[Method[Any, Any], bool]]:
    """(bus method, is the field's type its response message) behind each field of a part."""
    out: list[tuple[Method[Any, Any], bool]] = []
    for fn in part.resolvers.values():
        method = getattr(fn, "bus_method", None)
        if method is not None:
            # A wrapper that copied only ``bus_method`` still returns the reply.
            out.append((method, bool(getattr(fn, "returns_reply", True))))
    out.extend((m, True) for m in part.fields.values())
    return out


def generated_types(parts: list[tuple[str, GraphQLPart]]) -> Any:
    """The types generated for every part together (kernel.web.gqltypes.TypeSet).

    Together, because parts share types (orders' lines use catalog's ``OptionValue``);
    a plugin that defines by hand a type that is generated is refused, named.
    """
    methods = [m for _plugin, part in parts for m in part_methods(part)]
    extra = [cls for _plugin, part in parts for cls in part.types]
    types = generate(methods, extra)
    generated = types.names()
    for plugin, part in parts:
        for kind, name in handwritten_types(part.sdl):
            if name in generated:
                raise RuntimeError(f"plugin {plugin!r} defines GraphQL {kind} {name} by hand, but it is generated "
                                   f"from its message ({types.owners.get(name, 'Long scalar')!r}): remove it "
                                   f"from the plugin's SDL (docs/plugins.md, GraphQL)")
    return types


class GraphQLService:
    """One engine per app, under a schema name unique to that app."""

    def __init__(self, schema_name: str, limits: QueryLimits, cache: Any = None, bus: Any = None) -> None:
        self.schema_name = schema_name
        self.limits = limits
        self.cache = cache  # kernel.storage.cache.Cache: whole responses of cacheable queries, locally
        self.bus = bus  # kernel.engine.bus.Bus: admission checks for responses served from the cache
        self.engine: Any = None
        self.sdl = ""
        self.field_methods: dict[str, Method[Any, Any]] = {}
        # Each distinct query is scanned, parsed and validated once (then reused); a refusal
        # is remembered too. Bounded: a document of the largest allowed query is small.
        self._prepare = functools.lru_cache(maxsize=256)(self._prepare_uncached)

    async def build(self, parts: list[tuple[str, GraphQLPart]], version: str) -> None:
        sdl = [BASE_SDL, LONG_SDL]
        resolvers: dict[str, tuple[str, ResolverFn]] = {}

        async def shop_version(parent: Any, args: Any, ctx: Any, info: Any) -> str:
            return version

        async def ping(parent: Any, args: Any, ctx: Any, info: Any) -> bool:
            return True

        resolvers["Query.shopVersion"] = ("kernel", shop_version)
        resolvers["Mutation.ping"] = ("kernel", ping)
        types = generated_types(parts)
        sdl.append(types.sdl())
        for plugin, part in parts:
            sdl.append(f"# --- plugin {plugin}\n{part.sdl}")
            for name, fn in part.resolvers.items():
                if name in resolvers:
                    raise RuntimeError(f"plugin {plugin!r} resolves GraphQL field {name}, "
                                       f"already resolved by {resolvers[name][0]!r}")
                resolvers[name] = (plugin, fn)
                method = getattr(fn, "bus_method", None)
                if method is not None:
                    self.field_methods[name] = method
            for name, method in part.fields.items():
                self.field_methods[name] = method
        self.sdl = "\n".join(sdl)
        _long_scalar(self.schema_name)
        for name, (_plugin, fn) in resolvers.items():
            Resolver(name, schema_name=self.schema_name)(_tracked(fn))
        # No engine-side query cache: documents are parsed once here (see _prepare) and handed over.
        self.engine = await create_engine(self.sdl, schema_name=self.schema_name, error_coercer=_error_coercer,  # type: ignore[arg-type]
                                          custom_default_resolver=_default_resolver, query_cache_decorator=None)

    def _prepare_uncached(self, query: str) -> Prepared | BusError:
        # Before parsing: the parser and its validators are superlinear in some shapes
        # (fragment chains, nesting), so the shape is bounded by a linear scan first.
        try:
            scan(query, self.limits.scan)
            query = _unescape_non_ascii(query)
        except BusError as exc:
            return exc
        try:
            document = parse_to_document(query, self.engine._schema)
        except TartifletteError as exc:  # a syntax error
            return Prepared(query, None, [exc], False)
        except RecursionError:
            return BusError(Status.INVALID_ARGUMENT, "Query nests too deep.", reason="QUERY_TOO_DEEP")
        except Exception:
            # The engine's validators fail on some ill-typed values (a list where a String
            # goes): the query is at fault, not the server.
            log.info("graphql_query_unreadable", exc_info=True)
            return BusError(Status.INVALID_ARGUMENT, "The query has a value of the wrong shape for its argument.",
                            reason="INVALID_VALUE")
        read_only = all(d.operation_type == "query" for d in document.definitions
                        if isinstance(d, OperationDefinitionNode))
        return Prepared(query, document, document.validators.errors or None, read_only)

    def _check(self, prepared: Prepared, variables: dict[str, Any] | None) -> tuple[BusError | None, bool]:
        """(refusal or None, may the response be cached whole) for this query and these variables."""
        lim = self.limits
        try:
            depth, aliases, cost, introspects = _analyse(prepared.document, variables)
        except RecursionError:
            return BusError(Status.INVALID_ARGUMENT, "Query fragments nest too deep.", reason="QUERY_TOO_DEEP"), False
        if introspects and not lim.introspection:
            return BusError(Status.PERMISSION_DENIED, "Introspection is switched off on this server.",
                            reason="INTROSPECTION_DISABLED"), False
        if depth > lim.max_depth:
            return BusError(Status.INVALID_ARGUMENT, f"Query depth {depth} exceeds the limit of {lim.max_depth}.",
                            reason="QUERY_TOO_DEEP"), False
        if aliases > lim.max_aliases:
            return BusError(Status.INVALID_ARGUMENT, f"Query uses {aliases} aliases; the limit is {lim.max_aliases}.",
                            reason="TOO_MANY_ALIASES"), False
        if cost > lim.max_cost:
            return BusError(Status.INVALID_ARGUMENT, f"Query cost {cost} exceeds the limit of {lim.max_cost}.",
                            reason="QUERY_TOO_COSTLY"), False
        return None, prepared.read_only and not introspects

    async def execute(self, query: str, variables: dict[str, Any] | None, operation_name: str | None,
                      context: dict[str, Any]) -> bytes:
        """The response body (see :meth:`respond` for the HTTP status that goes with it)."""
        return (await self.respond(query, variables, operation_name, context)).body

    async def respond(self, query: str, variables: dict[str, Any] | None, operation_name: str | None,
                      context: dict[str, Any], also_key: str | None = None) -> Outcome:
        """Answer one request. Cacheable queries are answered from the local cache when warm,
        after the same authorization and rate-limit checks their bus calls would have made.

        ``also_key``: a second key the cached response is kept under (kernel.web.shortpath's key
        of the raw request body, looked up before the body is even decoded)."""
        prepared = self._prepare(query)
        if isinstance(prepared, BusError):
            return refusal(prepared)
        try:
            check_variables(variables, self.limits.scan)
        except BusError as exc:
            return refusal(exc)
        ctx: CallContext = context["ctx"]
        if prepared.document is None:
            return Outcome(orjson.dumps(await self.engine._build_response(errors=prepared.errors)))
        # Limits first (an invalid query that is also too costly is told it is too costly).
        refused, cacheable = self._check(prepared, variables)
        if refused is not None:
            return refusal(refused)
        if prepared.errors:
            return Outcome(orjson.dumps(await self.engine._build_response(errors=prepared.errors)))
        cache = self.cache if self.cache is not None and cacheable else None
        if cache is not None:
            key = "gql:" + hashlib.sha256(
                prepared.query.encode() + b"\0" + orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
                + b"\0" + (operation_name or "").encode()).hexdigest()
            hit = cache.local.get(key)
            if hit is not None:
                body, calls = hit
                try:
                    admitted = self.bus is None or await self.bus.admit(calls, ctx)
                except BusError as exc:
                    return refusal(exc)
                if admitted:
                    ctx.cache_status = "local"
                    return Outcome(typing.cast(bytes, body))
                # Not authorized for what the cached answer holds: run it, so that the
                # caller gets exactly the errors (and data) running it gives.
                cache = None
            else:
                generation = cache.local.generation
                deps = context["deps"] = ResponseDeps()
        result = await self._run(prepared, operation_name, context, variables)
        body = orjson.dumps(result)
        if (cache is not None and deps.cacheable and deps.tags and not result.get("errors")
                and generation == cache.local.generation):
            entry = (body, tuple(deps.calls))
            cache.local.put(key, entry, tuple(deps.tags), deps.ttl)
            if also_key is not None:
                cache.local.put(also_key, entry, tuple(deps.tags), deps.ttl)
            ctx.cache_status = "miss"
        rl = ctx.rate_limit
        if rl is not None and rl.retry_after > 0:
            return Outcome(body, 429, {"Retry-After": str(max(1, round(rl.retry_after + 0.5)))})
        return Outcome(body)

    async def _run(self, prepared: Prepared, operation_name: str | None, context: dict[str, Any],
                   variables: dict[str, Any] | None) -> dict[str, Any]:
        """``Engine.execute`` for a document parsed already (the engine would parse it again)."""
        engine = self.engine
        try:
            return typing.cast(dict[str, Any], await engine._query_executor(
                engine._schema, prepared.document, None, operation_name, context, variables, None,
                context_coercer=context))
        except Exception as exc:
            if not isinstance(exc, TartifletteError):
                exc = TartifletteError(message=str(exc), path=[engine._schema.query_operation_name],
                                       original_error=exc)
            return typing.cast(dict[str, Any], await engine._build_response(errors=[exc]))


def error_dict(exc: BusError, path: Any = None, locations: Any = None) -> dict[str, Any]:
    ext: dict[str, Any] = {"code": exc.status.name}
    if exc.reason:
        ext["reason"] = exc.reason
    if exc.field_errors:
        ext["errors"] = [{"field": f, "message": m} for f, m in exc.field_errors]
    out: dict[str, Any] = {"message": exc.public_message, "extensions": ext}
    if path is not None:
        out["path"] = path
    if locations is not None:
        out["locations"] = locations
    return out


def _tracked(fn: ResolverFn) -> ResolverFn:
    """Resolvers that are neither bus fields nor pure make their response uncacheable."""
    if getattr(fn, "bus_method", None) is not None or getattr(fn, "pure", False):
        return fn

    async def resolve(parent: Any, args: dict[str, Any], gctx: dict[str, Any], info: Any) -> Any:
        deps: ResponseDeps | None = gctx.get("deps")
        if deps is not None:
            deps.cacheable = False
        return await fn(parent, args, gctx, info)

    return resolve


def _dict_first_resolver(parent: Any, args: dict[str, Any], ctx: Any, info: Any) -> Any:
    """Read JSON-like parents by key first (tartiflette's default tries getattr first,
    so a field named ``items`` would resolve to ``dict.items``)."""
    name = info.field_name
    if isinstance(parent, dict):
        return parent.get(name)
    return getattr(parent, name, None)


async def _default_resolver(parent: Any, args: dict[str, Any], ctx: Any, info: Any) -> Any:
    return _dict_first_resolver(parent, args, ctx, info)


async def _error_coercer(exception: Exception, error: dict[str, Any]) -> dict[str, Any]:
    original = getattr(exception, "original_error", None) or exception
    if isinstance(original, BusError):
        coerced = error_dict(original, error.get("path"), error.get("locations"))
        return coerced
    ext = dict(error.get("extensions") or {})
    if original is exception or (isinstance(original, (TypeError, ValueError)) and _is_coercion(error)):
        # Parse and validation errors: the client sent a bad query.
        ext["code"] = Status.INVALID_ARGUMENT.name
        error["extensions"] = ext
        return error
    log.error("graphql_resolver_failed", exc_info=original)
    ext = {"code": Status.INTERNAL.name}
    error["message"] = "Internal error"
    error["extensions"] = ext
    return error


def _is_coercion(error: dict[str, Any]) -> bool:
    msg = str(error.get("message", ""))
    return "type" in msg.lower() or "argument" in msg.lower()


HIDDEN_STATUSES = HIDDEN
