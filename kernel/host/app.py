"""The application factory: plugins in, one aiohttp application out.

``create_app(settings, plugins=None)`` discovers (or takes) the plugins, collects
their contributions once, freezes the bus and the router, and returns the app.
No module-level state: every test builds a fresh app.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web, web_response
from aiohttp.web_protocol import RequestPayloadError
from prometheus_client import CONTENT_TYPE_LATEST

from .. import __version__
from ..core.context import ANONYMOUS, CallContext, Principal
from ..core.events import Subscription
from ..core.observability import AccessLog, exposition, request_id_var
from ..core.resources import data_folder
from ..core.scopes import KERNEL_SCOPES, ScopeError
from ..core.service import Service
from ..core.status import BusError, Status
from ..core.tasks import cancel_and_wait
from ..engine.config import ConfigError, Settings
from ..engine.runtime import Runtime, build_runtime
from ..storage.db import bind_tables
from ..web import system
from ..web.edge import CORS_EXPOSE, FORWARDING_HEADERS, ClientAddress, Cors, MetricsGuard, networks
from ..web.gqlscan import ScanLimits
from ..web.graphql import GraphQLPart, GraphQLService, QueryLimits, error_dict
from ..web.graphql import refusal as graphql_refusal
from ..web.openapi import api_page, build_openapi
from ..web.probes import RESERVED_CHECK_NAMES, Readiness, ReadinessCheck
from ..web.rest import CTX_KEY, PROBLEM_JSON, Route, declared_routes, make_handler, problem, problem_from, read_json_object
from ..web.shortpath import SharedAnswers, credential_headers, graphql_key
from . import storefront
from .loader import call_each, discover, migration_apps
from .plugin import LoadedPlugin, PluginContext, PluginError

log = logging.getLogger("shop.kernel.app")
access_log = logging.getLogger("shop.kernel.access")

RUNTIME = web.AppKey("shop_runtime", Runtime)
# CLI commands (`shop keys rotate` fixes what a serving process must refuse) set this
# on the app before starting it: startup refusals become warnings.
LENIENT_START = web.AppKey("shop_lenient_start", bool)
# No "Server: Python/3.x aiohttp/3.y" banner, on any response (even the parser's own
# 400s, which no middleware sees): aiohttp fills the header from this module constant.
web_response.SERVER_SOFTWARE = "shop"  # type: ignore[attr-defined]
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
KERNEL_STATIC = Path(__file__).parent.parent / "web" / "static"

Authenticator = Callable[[web.Request], Awaitable[Principal | None]]
HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")


def runtime_of(app: web.Application) -> Runtime:
    return app[RUNTIME]


def create_app(settings: Settings, plugins: Iterable[object] | None = None) -> web.Application:
    settings.check_startup()
    pm, loaded = discover(settings, plugins)
    rt = build_runtime(settings)
    rt.plugins = loaded
    rt.pm = pm
    _declare_scopes(rt, loaded)

    def make_ctx(lp: LoadedPlugin) -> PluginContext:
        return PluginContext(name=lp.info.name, settings=settings, config=lp.config, runtime=rt,
                             log=logging.getLogger(f"shop.plugins.{lp.info.name}"))

    for lp in loaded:
        for ev in lp.info.events:
            rt.events.register_type(ev)
    got = Contributions(rt)
    for rule in HOOK_TABLE:
        for lp, result in call_each(pm, loaded, rule.hook, make_ctx):
            for item in ([result] if rule.single else result):
                noted = rule.accept(got, lp.info.name, item)
                if rule.kind is not None and noted is not None:
                    lp.contributions.setdefault(rule.kind, []).extend([noted] if isinstance(noted, str) else noted)
    for lp in loaded:
        lp.contributions.setdefault("routes", []).extend(got.declared_routes.get(lp.info.name, []))
    rest_routes, gql_parts = got.rest_routes, got.gql_parts
    # The kernel's own service (admins: what was loaded), through the same bus and adapters.
    rt.bus.register(system.System, system.SystemServicer(loaded), plugin="kernel")
    rest_routes.extend(("kernel", r) for r in declared_routes(system.System))
    gql_parts.append(("kernel", system.GRAPHQL))
    rt.bus.freeze()
    try:
        rt.scopes.check(rt.bus.methods())
    except ScopeError as exc:
        raise PluginError(str(exc)) from None

    rt.graphql = GraphQLService(
        f"shop-{rt.instance_id}",
        QueryLimits(settings.graphql_max_depth, settings.graphql_max_aliases, settings.graphql_max_cost,
                    settings.graphql_introspection,
                    ScanLimits(max_tokens=settings.graphql_max_tokens, max_fragments=settings.graphql_max_fragments,
                               max_nesting=max(64, 4 * settings.graphql_max_depth))),
        rt.cache,
        rt.bus,
    )
    rt.openapi = build_openapi(rest_routes, version=__version__, server_url=settings.issuer)
    for lp in loaded:
        rt.metrics.plugins.labels(lp.info.name, lp.info.version).set(1)

    answers = SharedAnswers(rt.cache, rt.bus, settings.slow_request_timeout, credential_headers(got.authenticators))
    if answers.credentials is None:
        log.info("short_path_off", extra={"reason": "an authenticator does not declare its credential headers "
                                                    "(kernel.core.context.reads_credentials)"})
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_outer_middleware(rt, answers), *got.middlewares, _principal_middleware(rt, got.authenticators)],
    )
    app[RUNTIME] = rt
    app.on_response_prepare.append(_on_prepare(rt.metrics))

    router = app.router
    for _plugin, r in rest_routes:
        handler = make_handler(r, lambda _req: rt.bus, settings.max_json_depth, settings.slow_request_timeout,
                               answers=answers)
        router.add_route(r.method, r.path, handler)
    router.add_routes(got.web_routes)
    _add_kernel_routes(app, rt, settings, got.readiness_checks)
    storefront.add_routes(app, [lp.info.name for lp in loaded], got.ui_parts, demo=settings.demo)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await start_runtime(rt, gql_parts)
        log.info("shop_started", extra={"plugins": [lp.info.name for lp in loaded], "instance": rt.instance_id})
        housekeeping = asyncio.create_task(_housekeeping(rt), name="shop-housekeeping")
        yield
        await cancel_and_wait(housekeeping)
        await stop_runtime(rt)

    app.cleanup_ctx.append(lifecycle)
    app.cleanup_ctx.extend(got.lifespans)
    return app


# ----------------------------------------------------------------- the hook table
# create_app calls each contribution hook below, in this order, on every plugin in load
# order; each returned item goes through the rule's `accept`, which validates it (a
# PluginError names the plugin), keeps it in Contributions and says what to list under
# the plugin's `contributions[kind]` (`shop plugins list`, the System service).


@dataclasses.dataclass
class Contributions:
    """What the plugins contributed, collected for create_app."""

    rt: Runtime
    rest_routes: list[tuple[str, Route]] = dataclasses.field(default_factory=list)
    declared_routes: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # plugin -> "VERB /path"
    route_owners: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    web_routes: list[web.AbstractRouteDef] = dataclasses.field(default_factory=list)
    gql_parts: list[tuple[str, GraphQLPart]] = dataclasses.field(default_factory=list)
    authenticators: list[Authenticator] = dataclasses.field(default_factory=list)
    middlewares: list[Any] = dataclasses.field(default_factory=list)
    lifespans: list[Callable[[web.Application], AsyncIterator[None]]] = dataclasses.field(default_factory=list)
    readiness_checks: list[ReadinessCheck] = dataclasses.field(default_factory=list)
    ui_parts: list[tuple[str, storefront.StorefrontPart]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class HookRule:
    hook: str
    accept: Callable[[Contributions, str, Any], str | list[str] | None]  # (collected, plugin, item) -> what to note
    kind: str | None = None  # the plugin's contributions key; None: not listed
    single: bool = False  # the hook returns one item, not a list


def _table(got: Contributions, plugin: str, table: Any) -> str:
    bind_tables([table], got.rt.db)
    return str(table._meta.tablename)


def _service(got: Contributions, plugin: str, pair: Any) -> str:
    service, servicer = pair
    if not (isinstance(service, type) and issubclass(service, Service)):
        raise PluginError(f"plugin {plugin!r}: shop_services must return (Service subclass, servicer) pairs")
    got.rt.bus.register(service, servicer, plugin=plugin)
    # The REST routes its contract declares (rpc(..., rest=Http(...))) are served with it.
    got.declared_routes.setdefault(plugin, []).extend(_route(got, plugin, r) for r in declared_routes(service))
    return service.service_name


def _subscription(got: Contributions, plugin: str, sub: Any) -> str:
    if not isinstance(sub, Subscription):
        raise PluginError(f"plugin {plugin!r}: shop_event_handlers must return kernel.core.events.Subscription")
    got.rt.events.subscribe(dataclasses.replace(sub, plugin=plugin))
    return sub.event_type.topic


def _route(got: Contributions, plugin: str, r: Any) -> str:
    if not isinstance(r, Route):
        raise PluginError(f"plugin {plugin!r}: shop_routes must return kernel.web.rest.Route objects")
    key = (r.method, r.path)
    if key in got.route_owners:
        raise PluginError(f"plugin {plugin!r} adds route {r.method} {r.path}, "
                          f"already added by {got.route_owners[key]!r}")
    if r.rpc.options.internal:
        raise PluginError(f"plugin {plugin!r}: route {r.method} {r.path} exposes internal method {r.rpc.full_name}")
    got.route_owners[key] = plugin
    got.rest_routes.append((plugin, r))
    return f"{r.method} {r.path}"


def _web_route(got: Contributions, plugin: str, d: Any) -> str:
    got.web_routes.append(d)
    return f"{getattr(d, 'method', '*')} {getattr(d, 'path', '?')}"


def _graphql(got: Contributions, plugin: str, part: Any) -> list[str]:
    if not isinstance(part, GraphQLPart):
        raise PluginError(f"plugin {plugin!r}: shop_graphql must return kernel.web.graphql.GraphQLPart")
    got.gql_parts.append((plugin, part))
    return list(part.resolvers)


def _readiness_check(got: Contributions, plugin: str, check: Any) -> str:
    if not isinstance(check, ReadinessCheck):
        raise PluginError(f"plugin {plugin!r}: shop_readiness_checks must return "
                          "kernel.web.probes.ReadinessCheck objects")
    if check.name in RESERVED_CHECK_NAMES or any(c.name == check.name for c in got.readiness_checks):
        raise PluginError(f"plugin {plugin!r}: readiness check name {check.name!r} is taken")
    got.readiness_checks.append(check)
    return check.name


def _storefront(got: Contributions, plugin: str, part: Any) -> list[str]:
    checked = storefront.check_part(plugin, part)
    got.ui_parts.append((plugin, checked))
    return [f"{m.slot} {m.file}" for m in checked.modules]


def _keep(attribute: str) -> Callable[[Contributions, str, Any], None]:
    """A rule that keeps each item in ``Contributions.<attribute>`` as it is, noting nothing."""
    def accept(got: Contributions, plugin: str, item: Any) -> None:
        getattr(got, attribute).append(item)
    return accept


# Hooks create_app does not call: the manifest (loader), CLI commands and demo data (the
# CLI), payment providers (asked for by the payments plugin through call_each).
HOOKS_CALLED_ELSEWHERE = frozenset({"shop_plugin", "shop_cli", "shop_seed_demo", "shop_payment_providers"})
HOOK_TABLE: tuple[HookRule, ...] = (
    HookRule("shop_tables", _table, "tables"),
    HookRule("shop_services", _service, "services"),
    HookRule("shop_event_handlers", _subscription, "events"),
    HookRule("shop_routes", _route, "routes"),
    HookRule("shop_web_routes", _web_route, "pages"),
    HookRule("shop_graphql", _graphql, "graphql", single=True),
    HookRule("shop_authenticators", _keep("authenticators")),
    HookRule("shop_middlewares", _keep("middlewares")),
    HookRule("shop_lifespan", _keep("lifespans"), single=True),
    HookRule("shop_readiness_checks", _readiness_check, "readiness"),
    HookRule("shop_storefront", _storefront, "storefront", single=True),
)


def _declare_scopes(rt: Runtime, loaded: list[LoadedPlugin]) -> None:
    try:
        for s in KERNEL_SCOPES:
            rt.scopes.add("kernel", s)
        for lp in loaded:
            for s in lp.info.scopes:
                rt.scopes.add(lp.info.name, s)
    except ScopeError as exc:
        raise PluginError(str(exc)) from None


async def start_runtime(rt: Runtime, gql_parts: list[tuple[str, GraphQLPart]] | None = None) -> None:
    try:
        await rt.db.start()
    except Exception as exc:  # refused, unknown host, bad password, no such database...
        raise ConfigError(f"cannot connect to PostgreSQL at {_where(rt.settings.database_url)}: "
                          f"{_reason(exc)}") from None
    if rt.redis is not None:
        redis = rt.redis
        redis.subscribe("events", rt.events.receive)
        rt.events.set_publisher(lambda payload: redis.publish("events", payload))
        if await redis.ping():
            await redis.start_listener()
        else:
            log.warning("redis_unavailable_at_start")
            await redis.start_listener()
    if gql_parts is not None:
        await rt.graphql.build(gql_parts, __version__)
    if rt.outbox is not None and rt.settings.outbox_worker:
        await rt.outbox.start()


def _where(url: str | None) -> str:
    from urllib.parse import urlsplit

    p = urlsplit(url or "")
    return f"{p.hostname or 'localhost'}:{p.port or 5432}{p.path or '/'}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


IDEMPOTENCY_KEEP_HOURS = 24
HOUSEKEEPING_EVERY = 600.0  # seconds


async def purge_idempotency_keys(rt: Runtime, keep_hours: int = IDEMPOTENCY_KEEP_HOURS) -> int:
    """Forget stored Idempotency-Key responses older than ``keep_hours`` (the replay window)."""
    status = await rt.db.execute(
        "DELETE FROM shop_idempotency WHERE created_at < now() - make_interval(hours => $1)", keep_hours)
    return int(status.split()[-1])


async def _housekeeping(rt: Runtime) -> None:
    """Periodic clean-up; every process runs it (the deletes are idempotent)."""
    while True:
        await asyncio.sleep(HOUSEKEEPING_EVERY)
        try:
            purged = await purge_idempotency_keys(rt)
            if purged:
                log.info("idempotency_keys_purged", extra={"count": purged})
        except Exception as exc:  # the database may be away; try again next round
            log.warning("housekeeping_failed", extra={"error": str(exc)})


async def stop_runtime(rt: Runtime) -> None:
    if rt.outbox is not None:
        await rt.outbox.stop()
    if rt.redis is not None:
        await rt.redis.close()
    await rt.db.stop()


# ------------------------------------------------------------------ middlewares


def _outer_middleware(rt: Runtime, answers: SharedAnswers | None = None) -> Any:
    """Client address, request id, CORS, access log, metrics, security and caching
    headers, and error mapping; public cached reads without credentials are answered
    here, before the plugins' middlewares (kernel.web.shortpath)."""
    metrics = rt.metrics
    settings = rt.settings
    clients = ClientAddress(networks(settings.trusted_proxies))
    cors = Cors(frozenset(settings.cors_origins))
    new_request_id = request_ids()

    async def inner(request: web.Request, handler: HandlerFn, rid: str) -> web.StreamResponse:
        try:
            if answers is not None:
                kept = await answers.answer(request)
                if kept is not None:
                    return kept
            return await handler(request)
        except BusError as exc:
            if request.path == "/graphql":
                # Refused before the engine ran (bad token, CSRF, unreadable body): still GraphQL.
                return _graphql_refusal(exc, rid)
            return problem_from(exc, rid)
        except web.HTTPException as exc:
            return _http_exception(request, exc, rid)
        except RequestPayloadError as exc:
            # The body could not be read as sent: a Content-Encoding it does not follow (not gzip,
            # not deflate), a broken chunked encoding. The client's fault, never a 500.
            log.info("request_body_unreadable", extra={"path": request.path, "error": str(exc).replace("\n", " ")})
            return problem(Status.INVALID_ARGUMENT, "The request body could not be decoded as sent "
                           "(check its Content-Encoding and Transfer-Encoding).",
                           errors=[{"field": "body", "message": "could not be decoded"}], request_id=rid)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("request_failed", extra={"path": request.path})
            return problem(Status.INTERNAL, "Something went wrong on our side; the request id helps us find it.",
                           request_id=rid)

    @web.middleware
    async def outer(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
        start = time.perf_counter()
        rid = request.headers.get("X-Request-Id", "")
        if not rid or not _REQUEST_ID_RE.match(rid):
            rid = new_request_id()
        # Behind a trusted proxy the client is the one it names; everything below
        # (rate limits, logs, plugins reading request.remote) sees that address.
        original = request
        peer = request.remote
        client = clients.resolve(peer, request.headers.getall("X-Forwarded-For", [])) if clients.trusted else peer
        if client is not None and client != peer:
            request = request.clone(remote=client)
        request["request_id"] = rid
        token = request_id_var.set(rid)
        try:
            origin = request.headers.get("Origin")
            cors_path = cors.applies(request.path)
            preflight = cors_path and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
            if preflight:
                allowed = cors.preflight_headers(origin, request.headers.get("Access-Control-Request-Headers", "")) \
                    if origin is not None and cors.allowed(origin) else None
                # A foreign origin gets no CORS headers: the browser then refuses the call.
                resp: web.StreamResponse = web.Response(status=204, headers=allowed) if allowed \
                    else web.Response(status=403, headers={"Vary": "Origin"})
            else:
                resp = await inner(request, handler, rid)
            ctx: CallContext | None = request.get(CTX_KEY)
            if ctx is not None and ctx.rate_limit is not None:
                rl = ctx.rate_limit
                resp.headers["RateLimit-Limit"] = str(rl.limit)
                resp.headers["RateLimit-Remaining"] = str(rl.remaining)
                resp.headers["RateLimit-Reset"] = str(max(0, round(rl.reset_after + 0.5)))
            if ctx is not None and ctx.cache_status is not None:
                resp.headers["X-Cache"] = ctx.cache_status
            resp.headers["X-Request-Id"] = rid
            # How long the server worked on this request (the hostile-input suite measures it).
            resp.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.1f}"
            h = resp.headers
            h.setdefault("X-Content-Type-Options", "nosniff")
            h.setdefault("Referrer-Policy", "same-origin")
            # On every response (a FileResponse's type is only known later); pages may set their own.
            h.setdefault("Content-Security-Policy", CSP)
            h.setdefault("X-Frame-Options", "DENY")
            if cors_path and not preflight:
                h.add("Vary", "Origin")
                if origin is not None and cors.allowed(origin):
                    h["Access-Control-Allow-Origin"] = origin
                    h["Access-Control-Expose-Headers"] = CORS_EXPOSE
            # Whatever an authenticated caller gets may be theirs alone: no cache may keep it.
            # (Static assets are the same for everyone and stay cacheable.)
            if (("Authorization" in request.headers or (ctx is not None and ctx.principal is not ANONYMOUS))
                    and not request.path.startswith("/assets/")):
                h["Cache-Control"] = "private, no-store"
            if isinstance(resp, web.FileResponse) and not resp.prepared:
                # Its real status (304, 206, 404, 416...) is only decided when aiohttp sends
                # it (on the original request object): record it then, in _on_prepare.
                original[DEFERRED_RECORD] = (request, start)
                return resp
            _record(metrics, request, resp, start)
            return resp
        finally:
            request_id_var.reset(token)

    return outer


DEFERRED_RECORD = "shop_deferred_record"


def _on_prepare(metrics: Any) -> Any:
    async def on_prepare(request: web.Request, resp: web.StreamResponse) -> None:
        deferred = request.get(DEFERRED_RECORD)
        if deferred is not None:
            del request[DEFERRED_RECORD]
            _record(metrics, deferred[0], resp, deferred[1])

    return on_prepare


def _record(metrics: Any, request: web.Request, resp: web.StreamResponse, start: float) -> None:
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else "unmatched"
    elapsed = time.perf_counter() - start
    metrics.observe_http(request.method, route_name, resp.status, elapsed)
    _access.request({"request_id": request.get("request_id"), "method": request.method, "path": request.path,
                     "status": resp.status, "ms": round(elapsed * 1000, 2), "client": request.remote})


_access = AccessLog(access_log)


def request_ids() -> Callable[[], str]:
    """Request ids for requests that bring none: 32 hex digits, a random prefix per process and a
    counter (unique without asking the OS for 16 random bytes per request, as uuid4 does)."""
    prefix = secrets.token_hex(10)
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter):012x}"


_HTTP_CODES = {400: Status.INVALID_ARGUMENT, 401: Status.UNAUTHENTICATED, 403: Status.PERMISSION_DENIED,
               404: Status.NOT_FOUND, 405: Status.INVALID_ARGUMENT, 408: Status.DEADLINE_EXCEEDED,
               413: Status.INVALID_ARGUMENT,
               429: Status.RESOURCE_EXHAUSTED, 503: Status.UNAVAILABLE}


def _graphql_refusal(exc: BusError, rid: str, http_status: int | None = None,
                     headers: dict[str, str] | None = None) -> web.Response:
    out = graphql_refusal(exc, rid)
    return web.Response(body=out.body, status=http_status or out.status, headers={**out.headers, **(headers or {})},
                        content_type="application/json")


def _http_exception(request: web.Request, exc: web.HTTPException, rid: str) -> web.StreamResponse:
    if exc.status < 400 or not (request.path.startswith("/api") or request.path == "/graphql"):
        return exc
    status = _HTTP_CODES.get(exc.status, Status.INTERNAL if exc.status >= 500 else Status.INVALID_ARGUMENT)
    detail = {404: "No such endpoint", 405: f"Method {request.method} is not allowed here",
              413: "The request body is too large"}.get(exc.status, exc.reason)
    if request.path == "/graphql":
        allow = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return _graphql_refusal(BusError(status, detail), rid, exc.status, allow)
    body = {"type": "about:blank", "title": exc.reason, "status": exc.status, "detail": detail,
            "code": status.name, "requestId": rid}
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    return web.Response(body=orjson.dumps(body), status=exc.status, content_type=PROBLEM_JSON, headers=headers)


def _peer(request: web.Request) -> str | None:
    """The TCP peer's address (request.remote may be the client a trusted proxy named)."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    if isinstance(peer, (list, tuple)) and peer:
        return str(peer[0])
    return None


def _principal_middleware(rt: Runtime, authenticators: list[Authenticator]) -> Any:
    @web.middleware
    async def principal(request: web.Request, handler: HandlerFn) -> web.StreamResponse:
        p: Principal | None = None
        for auth in authenticators:
            p = await auth(request)
            if p is not None:
                break
        request[CTX_KEY] = CallContext(
            principal=p or ANONYMOUS,
            request_id=request["request_id"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            client_ip=request.remote,
        )
        return await handler(request)

    return principal


# ---------------------------------------------------------------- kernel routes


def _add_kernel_routes(app: web.Application, rt: Runtime, settings: Settings,
                       readiness_checks: list[ReadinessCheck]) -> None:
    router = app.router

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__, "instance": rt.instance_id},
                                 dumps=lambda o: orjson.dumps(o).decode())

    def apps() -> list[tuple[str, Path]]:
        return migration_apps(settings, rt.plugins)

    readiness = Readiness(rt, apps, readiness_checks)

    async def readyz(request: web.Request) -> web.Response:
        ok, body = await readiness.report()
        body["version"] = __version__
        headers = {"Cache-Control": "no-store"} if ok else {"Cache-Control": "no-store", "Retry-After": "5"}
        return web.Response(body=orjson.dumps(body), status=200 if ok else 503, content_type="application/json",
                            headers=headers)

    guard = MetricsGuard(networks(settings.metrics_allow), settings.metrics_token)

    async def metrics(request: web.Request) -> web.Response:
        proxied = any(h in request.headers for h in FORWARDING_HEADERS) and request.remote == _peer(request)
        verdict = guard.decide(request.remote, proxied, request.headers.get("Authorization", ""))
        if verdict != 200:
            # Say nothing about what is here; a wrong token is told it is wrong.
            raise web.HTTPForbidden() if verdict == 403 else web.HTTPNotFound()
        resp = web.Response(body=exposition(rt.metrics.registry), headers={"Cache-Control": "no-store"})
        resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return resp

    openapi_bytes = orjson.dumps(rt.openapi)
    page = api_page(rt.openapi or {})

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=openapi_bytes, content_type="application/json")

    async def api_docs(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def graphql_get(request: web.Request) -> web.StreamResponse:
        if "query" in request.query and "text/html" not in request.headers.get("Accept", ""):
            return await _graphql_run(request, rt, dict(request.query), allow_mutation=False)
        return web.FileResponse(KERNEL_STATIC / "graphql.html")

    async def graphql_post(request: web.Request) -> web.StreamResponse:
        body = await read_json_object(request, settings.max_json_depth, settings.slow_request_timeout)
        # Keep a cacheable answer under its exact request bytes too, for the short path.
        also_key = graphql_key(await request.read()) if request.content_type == "application/json" else None
        return await _graphql_run(request, rt, body, allow_mutation=True, also_key=also_key)

    router.add_get("/healthz", healthz)
    router.add_get("/readyz", readyz)
    router.add_get("/metrics", metrics)
    router.add_get("/api/openapi.json", openapi)
    router.add_get("/api/docs", api_docs)
    router.add_get("/graphql", graphql_get)
    router.add_post("/graphql", graphql_post)
    router.add_static("/assets/kernel/", KERNEL_STATIC)
    _add_static_web(app, settings)


def _add_static_web(app: web.Application, settings: Settings) -> None:
    root = data_folder("static_web", settings.home)
    if not root.is_dir():
        log.info("storefront_missing", extra={"path": str(root)})  # API-only: shown by serve, not CLI
        return
    index = root / "index.html"

    async def storefront(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(index)

    app.router.add_get("/", storefront)
    if (root / "assets").is_dir():
        app.router.add_static("/assets/", root / "assets")
    pages = {p.stem: p for p in root.glob("*.html")}

    async def page(request: web.Request) -> web.StreamResponse:
        target = pages.get(request.match_info["page"])
        if target is None:
            raise web.HTTPNotFound()
        return web.FileResponse(target)

    app.router.add_get("/{page:[a-z0-9-]+}.html", page)


async def _graphql_run(request: web.Request, rt: Runtime, body: dict[str, Any], *, allow_mutation: bool,
                       also_key: str | None = None) -> web.Response:
    query = body.get("query")
    variables = body.get("variables")
    operation = body.get("operationName")
    if isinstance(variables, str) and variables:
        try:
            variables = orjson.loads(variables)
        except orjson.JSONDecodeError:
            variables = "bad"
    bad = None
    if not isinstance(query, str) or not query.strip():
        bad = "Send a JSON body with a 'query' string."
    elif variables not in (None, "") and not isinstance(variables, dict):
        bad = "'variables' must be an object."
    elif operation is not None and not isinstance(operation, str):
        bad = "'operationName' must be a string."
    elif len(query) > 20_000:
        bad = "The query is too long."
    if bad:
        err = error_dict(BusError(Status.INVALID_ARGUMENT, bad))
        return web.Response(body=orjson.dumps({"data": None, "errors": [err]}), status=400,
                            content_type="application/json")
    assert isinstance(query, str)
    if not allow_mutation and "mutation" in query:
        err = error_dict(BusError(Status.INVALID_ARGUMENT, "Mutations must be sent with POST."))
        return web.Response(body=orjson.dumps({"data": None, "errors": [err]}), status=405,
                            content_type="application/json", headers={"Allow": "POST"})
    ctx: CallContext = request[CTX_KEY]
    out = await rt.graphql.respond(query, variables or None, operation,
                                   {"request": request, "ctx": ctx, "bus": rt.bus}, also_key)
    return web.Response(body=out.body, status=out.status, headers=out.headers, content_type="application/json")
