"""The short path: public cached reads answered whole, for callers without credentials.

A warm product page or list costs little to look up, but the full path around it
(plugin middlewares, authenticators, query decoding, the interceptor chain, the
ETag) cost more than the lookup. This module keeps the final answer of such reads
in the local cache (kernel.storage.cache.LocalCache) under the same tags as the bus entry
it was made from, so the writes that invalidate the read invalidate the answer too,
on this instance and (over pub/sub) on the others.

What may take it, and why nothing private can leak through it:

- Only answers that are the same for every caller are kept: REST routes of bus
  methods with a cache policy, no scope, no signed-in-user requirement and no
  ``vary_by_principal`` (the routes that get an ETag), and GraphQL documents whose
  every field is such a read (kernel.web.graphql.ResponseDeps decides that).
- Only requests carrying no credentials are answered from here: none of the headers
  the authenticators declare they read (kernel.core.context.reads_credentials; always
  ``Authorization`` and ``Cookie``). Such a caller is anonymous whatever the plugins'
  middlewares and authenticators would do, so they are skipped; a signed-in caller
  always takes the full path. While an authenticator declares nothing, the short
  path is off (see :func:`credential_headers`).
- Admission still runs for every answer (Bus.admit): the rate limit counts the
  request exactly as the real call would, and a method that now needs a scope is
  not answered here.

A miss (or anything else) returns None and the request takes the full path, which
fills the entry for the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ..core.context import ANONYMOUS, CREDENTIALS_ATTR, CallContext
from ..core.service import Method
from ..storage.cache import Cache
from .rest import CTX_KEY, etag_matches

CREDENTIAL_HEADERS = ("Authorization", "Cookie")
GRAPHQL_PATH = "/graphql"
# A GraphQL body larger than this is never looked up (the query itself is capped at 20,000 characters).
MAX_GRAPHQL_BODY = 64 * 1024


def credential_headers(authenticators: Sequence[Any]) -> tuple[str, ...] | None:
    """Every header the authenticators read credentials from; None when one does not say."""
    out = list(CREDENTIAL_HEADERS)
    for fn in authenticators:
        declared = getattr(fn, CREDENTIALS_ATTR, None)
        if declared is None:
            return None
        out.extend(h for h in declared if h not in out)
    return tuple(out)


def rest_key(request: web.Request) -> str:
    # The request line's path and query, as sent: two spellings of one request are two entries.
    return "rest:" + request.raw_path


def graphql_key(body: bytes) -> str:
    return "gqlraw:" + hashlib.blake2b(body, digest_size=16).hexdigest()


class SharedAnswers:
    """Whole answers of public cached reads, looked up before the full path runs."""

    def __init__(self, cache: Cache, bus: Any, read_timeout: float,
                 credentials: tuple[str, ...] | None = CREDENTIAL_HEADERS) -> None:
        self.cache = cache
        self.local = cache.local
        self.bus = bus  # kernel.engine.bus.Bus
        self.read_timeout = read_timeout
        # None: some authenticator did not say where it reads credentials; never answer here.
        self.credentials = credentials

    @property
    def generation(self) -> int:
        """Read before making an answer; :meth:`keep_rest` keeps it only if no invalidation came since."""
        return self.local.generation

    def keep_rest(self, request: web.Request, method: Method[Any, Any], message: Any, body: bytes, tag: str,
                  generation: int) -> None:
        """Keep a REST answer of a shared read, under its bus entry's key and tags."""
        policy = method.options.cache
        if policy is None or generation != self.local.generation:
            return
        key = policy.key(message)
        if key is None:
            return
        self.local.put(rest_key(request), (body, tag, (method,)), (key, *policy.tags(message)), policy.ttl)

    async def answer(self, request: web.Request) -> web.StreamResponse | None:
        """The kept answer for this request, or None (take the full path)."""
        credentials = self.credentials
        if credentials is None:
            return None
        headers = request.headers
        for name in credentials:
            if name in headers:
                return None
        if request.method == "GET":
            hit = self.local.get(rest_key(request))
            if hit is None:
                return None
            body, tag, methods = hit
            if not await self._admit(request, methods):
                return None
            if etag_matches(request.headers.get("If-None-Match"), tag):
                return web.Response(status=304, headers={"ETag": tag})
            return web.Response(body=body, content_type="application/json", headers={"ETag": tag})
        if request.method == "POST" and request.path == GRAPHQL_PATH:
            length = request.content_length
            if request.content_type != "application/json" or length is None or length > MAX_GRAPHQL_BODY:
                return None
            try:
                async with asyncio.timeout(self.read_timeout):
                    raw = await request.read()  # kept by aiohttp: the full path reads the same bytes
            except TimeoutError:
                raise web.HTTPRequestTimeout(text="request body too slow") from None
            hit = self.local.get(graphql_key(raw))
            if hit is None:
                return None
            body, calls = hit
            if not await self._admit(request, calls):
                return None
            return web.Response(body=body, content_type="application/json")
        return None

    async def _admit(self, request: web.Request, methods: Sequence[Method[Any, Any]]) -> bool:
        ctx = CallContext(principal=ANONYMOUS, request_id=request["request_id"], client_ip=request.remote)
        request[CTX_KEY] = ctx  # the outer middleware's RateLimit and X-Cache headers read it
        # Raises the rate limit's refusal (429 / 503), answered by the outer middleware.
        if not await self.bus.admit(methods, ctx):
            return False
        ctx.cache_status = "local"
        self.cache.note_local_hit()  # shop_cache_lookups_total counts it like any local hit
        return True
