"""The in-process bus: typed, gRPC-style calls through a fixed interceptor chain.

``bus.call(Catalog.get_product, GetProduct(slug=s), ctx)`` runs, in this order:
metrics -> authorization -> rate limit -> idempotency -> cache -> deadline ->
the servicer (a cache hit arms no timer; all that can block runs under the
deadline). Each chain is built once per method at freeze time with only the
interceptors that method's options ask for.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import orjson

from ..core.context import CallContext, RateLimitState
from ..core.events import Event, EventBus
from ..core.messages import decode, encode
from ..core.scopes import ScopeRegistry
from ..core.service import Method, Service
from ..core.status import BusError, Status
from ..storage.cache import Cache
from ..storage.db import Database
from .ratelimit import RateLimiter, RateLimitUnavailable

log = logging.getLogger("shop.kernel.bus")

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class Reply(Generic[Resp]):
    """A response as a message, as its JSON bytes, or both (each made on demand)."""

    __slots__ = ("_body", "_message", "_type", "replayed")

    def __init__(self, response_type: type[Resp], *, message: Any = None, body: bytes | None = None,
                 replayed: bool = False) -> None:
        self._type = response_type
        self._message = message
        self._body = body
        self.replayed = replayed

    @property
    def message(self) -> Resp:
        if self._message is None and self._body is not None:
            self._message = decode(self._type, orjson.loads(self._body))
        return typing.cast(Resp, self._message)

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = orjson.dumps(encode(self._message))
        return self._body


Next = Callable[[Any, CallContext], Awaitable[Reply[Any]]]


class Interceptor:
    """One link of the chain. ``applies`` decides, per method, at freeze time.

    An ``admission`` interceptor decides only whether a call may happen (it never needs
    the request): :meth:`Bus.admit` runs these alone for answers served from a
    whole-response cache, so such answers pass the same checks as a real call.
    """

    name = "interceptor"
    admission = False

    def applies(self, method: Method[Any, Any]) -> bool:
        return True

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        return await nxt(request, ctx)


class MetricsInterceptor(Interceptor):
    name = "metrics"

    def __init__(self, observe: Callable[[str, str, float], None]) -> None:
        self.observe = observe

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        start = time.perf_counter()
        code = "OK"
        try:
            return await nxt(request, ctx)
        except BusError as exc:
            code = exc.status.name
            raise
        except BaseException:
            code = "INTERNAL"
            raise
        finally:
            self.observe(method.full_name, code, time.perf_counter() - start)


class DeadlineInterceptor(Interceptor):
    name = "deadline"

    def __init__(self, default_seconds: float) -> None:
        self.default_seconds = default_seconds

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        if ctx.deadline is None:
            ctx.deadline = time.monotonic() + (method.options.deadline or self.default_seconds)
        left = ctx.deadline - time.monotonic()
        if left <= 0:
            raise BusError(Status.DEADLINE_EXCEEDED, f"deadline exceeded before {method.full_name}")
        try:
            async with asyncio.timeout(left):
                return await nxt(request, ctx)
        except TimeoutError:
            raise BusError(Status.DEADLINE_EXCEEDED, f"{method.full_name} did not finish in time") from None


class AuthorizationInterceptor(Interceptor):
    """Enforces each method's declared scope and user requirement.

    A broader scope that implies the method's (``admin`` implies ``catalog:write``, as the
    declaring plugin says) is accepted too, so a principal built with the broad scope alone
    (sessions, tests, the CLI) is not refused where an issued token would carry both.
    """

    name = "authorization"
    admission = True

    def __init__(self, scopes: ScopeRegistry | None = None) -> None:
        self.scopes = scopes

    def _granted(self, principal: Any, scope: str) -> bool:
        if principal.has_scope(scope):
            return True
        if self.scopes is None:
            return False
        return not principal.scopes.isdisjoint(self.scopes.expand([scope], upward=True))

    def applies(self, method: Method[Any, Any]) -> bool:
        o = method.options
        return bool(o.scope or o.user or o.internal)

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        o = method.options
        p = ctx.principal
        if o.internal and ctx.depth == 0:
            raise BusError(Status.PERMISSION_DENIED, f"{method.full_name} is internal to the shop")
        if (o.scope or o.user) and not p.is_authenticated:
            raise BusError(Status.UNAUTHENTICATED, "Sign in to do this.", reason="UNAUTHENTICATED")
        if o.user and p.user_id is None:
            raise BusError(Status.PERMISSION_DENIED, "This needs a signed-in user, not a client.")
        if o.scope and not self._granted(p, o.scope):
            raise BusError(Status.PERMISSION_DENIED, f"This needs the '{o.scope}' scope.", reason="MISSING_SCOPE")
        return await nxt(request, ctx)


class RateLimitInterceptor(Interceptor):
    name = "rate_limit"
    admission = True

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def applies(self, method: Method[Any, Any]) -> bool:
        return method.options.rate_limit is not None

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        if ctx.depth == 0:
            rc = typing.cast(str, method.options.rate_limit)
            p = ctx.principal
            identity = f"p:{p.subject}" if p.subject else f"ip:{ctx.client_ip or 'unknown'}"
            try:
                state = await self.limiter.hit(rc, identity)
            except RateLimitUnavailable:
                raise BusError(Status.UNAVAILABLE, "Rate limiting is unavailable; try again shortly.",
                               retry_after=2) from None
            if state is not None:
                note_rate_limit(ctx, state)
                if state.retry_after > 0:
                    raise BusError(Status.RESOURCE_EXHAUSTED, "Too many requests; slow down.",
                                   reason="RATE_LIMITED", retry_after=max(1, round(state.retry_after + 0.5)))
        return await nxt(request, ctx)


def note_rate_limit(ctx: CallContext, state: RateLimitState) -> None:
    """Keep the state the response's RateLimit headers should show when one request makes
    several limited calls (GraphQL): a refusal wins, else the tightest limit."""
    old = ctx.rate_limit
    refused, was_refused = state.retry_after > 0, old is not None and old.retry_after > 0
    if old is None or (refused and not was_refused) or (refused == was_refused and state.remaining < old.remaining):
        ctx.rate_limit = state


class IdempotencyInterceptor(Interceptor):
    """Stores the first response under (caller, key) in PostgreSQL, in the call's transaction."""

    name = "idempotency"

    def __init__(self, db: Database) -> None:
        self.db = db

    def applies(self, method: Method[Any, Any]) -> bool:
        return method.options.idempotent

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        key = ctx.idempotency_key
        if key is None or ctx.depth > 0:
            return await nxt(request, ctx)
        if not (1 <= len(key) <= 255) or not key.isascii() or not key.isprintable():
            raise BusError(Status.INVALID_ARGUMENT, "Idempotency-Key must be 1-255 printable ASCII characters",
                           field_errors=[("Idempotency-Key", "must be 1-255 printable ASCII characters")])
        p = ctx.principal
        scope = p.subject or f"ip:{ctx.client_ip}"
        digest = hashlib.sha256(
            method.full_name.encode() + b"\0" + orjson.dumps(encode(request), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        async with self.db.transaction():
            inserted = await self.db.fetchval(
                "INSERT INTO shop_idempotency (scope, key, method, request_hash) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
                scope, key, method.full_name, digest,
            )
            if inserted is None:
                row = await self.db.fetchrow(
                    "SELECT method, request_hash, response FROM shop_idempotency WHERE scope = $1 AND key = $2",
                    scope, key,
                )
                if row is None or row["method"] != method.full_name or row["request_hash"] != digest:
                    raise BusError(Status.FAILED_PRECONDITION,
                                   "This Idempotency-Key was already used with a different request.",
                                   reason="IDEMPOTENCY_KEY_REUSED")
                return Reply(method.response_type, body=bytes(row["response"]), replayed=True)
            reply = await nxt(request, ctx)
            await self.db.execute(
                "UPDATE shop_idempotency SET response = $3 WHERE scope = $1 AND key = $2", scope, key, reply.body
            )
            return reply


class CacheInterceptor(Interceptor):
    name = "cache"

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def applies(self, method: Method[Any, Any]) -> bool:
        return method.options.cache is not None

    async def intercept(self, method: Method[Any, Any], request: Any, ctx: CallContext, nxt: Next) -> Reply[Any]:
        policy = method.options.cache
        assert policy is not None
        key = policy.key(request)
        if key is None:
            return await nxt(request, ctx)
        tags = policy.tags(request)
        if policy.vary_by_principal:
            # One entry per caller (all anonymous callers share one), each dropped with the shared key.
            tags = (key, *tags)
            key = f"{key}|by:{ctx.principal.subject or 'anonymous'}"

        async def fill() -> bytes:
            return (await nxt(request, ctx)).body

        body, status = await self.cache.get_or_fill(key, tags, policy.ttl, fill)
        if ctx.depth == 0:
            ctx.cache_status = status
        return Reply(method.response_type, body=body)


Handler = Callable[[Any, CallContext], Awaitable[Any]]


class Bus:
    def __init__(self, *, db: Database | None, events: EventBus, interceptors: Sequence[Interceptor]) -> None:
        self.db = db
        self.events = events
        self.outbox: Any = None  # kernel.storage.outbox.Outbox, set by the runtime when there is a database
        self.interceptors = list(interceptors)
        self._handlers: dict[str, Handler] = {}
        self._owners: dict[str, str] = {}
        self.services: dict[str, tuple[type[Service], str]] = {}
        self._chains: dict[str, Next] = {}
        self.frozen = False

    # ------------------------------------------------------------ registration

    def register(self, service: type[Service], servicer: object, *, plugin: str) -> None:
        if self.frozen:
            raise RuntimeError("the bus is frozen; register services from shop_services")
        if service.service_name in self.services:
            other = self.services[service.service_name][1]
            raise RuntimeError(f"plugin {plugin!r} registers service {service.service_name} already registered by {other!r}")
        missing = []
        for attr, method in service.methods.items():
            fn = getattr(servicer, attr, None)
            if fn is None or not inspect.iscoroutinefunction(fn):
                missing.append(attr)
                continue
            self._handlers[method.full_name] = fn
            self._owners[method.full_name] = plugin
        if missing:
            raise RuntimeError(
                f"plugin {plugin!r}: servicer {type(servicer).__name__} for {service.service_name} lacks "
                f"async method(s) {', '.join(missing)}"
            )
        self.services[service.service_name] = (service, plugin)

    def freeze(self) -> None:
        """Precompute each method's interceptor chain (never per request)."""
        for service, _plugin in self.services.values():
            for method in service.methods.values():
                self._chains[method.full_name] = self._build_chain(method)
        self.frozen = True

    def _build_chain(self, method: Method[Any, Any]) -> Next:
        handler = self._handlers[method.full_name]
        response_type = method.response_type

        async def terminal(request: Any, ctx: CallContext) -> Reply[Any]:
            return Reply(response_type, message=await handler(request, ctx.nested()))

        chain: Next = terminal
        for icp in reversed([i for i in self.interceptors if i.applies(method)]):
            chain = _link(icp, method, chain)
        return chain

    def has(self, method: Method[Any, Any]) -> bool:
        return method.full_name in self._chains

    def owner(self, method: Method[Any, Any]) -> str | None:
        return self._owners.get(method.full_name)

    def methods(self) -> list[Method[Any, Any]]:
        return [m for service, _ in self.services.values() for m in service.methods.values()]

    # --------------------------------------------------------------------- calls

    async def invoke(self, method: Method[Req, Resp], request: Req, ctx: CallContext) -> Reply[Resp]:
        chain = self._chains.get(method.full_name)
        if chain is None:
            raise BusError(Status.UNIMPLEMENTED, f"{method.full_name} is not served (is its plugin enabled?)")
        if type(request) is not method.request_type:
            raise BusError(Status.INVALID_ARGUMENT,
                           f"{method.full_name} takes {method.request_type.__name__}, got {type(request).__name__}")
        return await chain(request, ctx)

    async def admit(self, methods: Sequence[Method[Any, Any]], ctx: CallContext) -> bool:
        """Run the admission checks of calls answered without making them (a cached response).

        Every authorization check runs first: False when one fails (nothing was counted;
        the caller should make the calls for real to get their exact errors). Then each
        rate-limited call counts as one request, exactly as the real call would; a
        refusal raises its BusError (RESOURCE_EXHAUSTED, or UNAVAILABLE under ``deny``).
        """
        for icp in self.interceptors:
            if not icp.admission:
                continue
            for method in methods:
                if not icp.applies(method):
                    continue
                if isinstance(icp, AuthorizationInterceptor):
                    try:
                        await icp.intercept(method, None, ctx, _admitted)
                    except BusError:
                        return False
                else:
                    await icp.intercept(method, None, ctx, _admitted)
        return True

    async def call(self, method: Method[Req, Resp], request: Req, ctx: CallContext) -> Resp:
        return (await self.invoke(method, request, ctx)).message

    async def call_json(self, method: Method[Req, Resp], request: Req, ctx: CallContext) -> bytes:
        return (await self.invoke(method, request, ctx)).body

    # -------------------------------------------------------------------- events

    async def publish(self, event: Event) -> None:
        """Publish ``event``: into the outbox in the current transaction (durable subscribers),
        and to broadcast subscribers after the transaction commits. Outside a transaction the
        durable subscribers run before this returns (a failure is retried by the worker)."""
        outbox = self.outbox
        event_id = None
        in_transaction = self.db is not None and self.db.in_transaction
        if outbox is not None:
            event_id = await outbox.write(event, run_here=not in_transaction)

        async def after_commit() -> None:
            if outbox is not None:
                outbox.wake()
            await self.events.deliver(event)

        if self.db is not None and self.db.after_commit(after_commit):
            return
        if event_id is not None:  # no transaction: nothing to wait for, deliver now (retries stay queued)
            await outbox.run_event(event_id)
        await after_commit()

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> Awaitable[None] | None:
        """Run ``callback`` after commit; returns an awaitable to run now when no transaction is open."""
        if self.db is not None and self.db.after_commit(callback):
            return None
        return callback()


async def _admitted(request: Any, ctx: CallContext) -> Reply[Any]:
    return typing.cast(Reply[Any], None)


def _link(icp: Interceptor, method: Method[Any, Any], nxt: Next) -> Next:
    async def step(request: Any, ctx: CallContext) -> Reply[Any]:
        return await icp.intercept(method, request, ctx, nxt)

    return step
