"""The storefront's session (backend for frontend) and the authenticator.

The browser holds only the ``shop_session`` cookie; the tokens live in Redis
(aiohttp-session). ``/auth/login`` starts the code flow for ``web-client`` with
PKCE, ``/auth/callback`` exchanges the code in process, ``/auth/logout`` revokes.
The API accepts the cookie (``via="session"``, CSRF header required on writes)
or ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from aiohttp_session import Session, get_session, new_session, session_middleware
from aiohttp_session.redis_storage import RedisStorage
from redis.exceptions import RedisError

from kernel.core.context import Principal, reads_credentials
from kernel.core.scopes import ScopeRegistry
from kernel.core.status import BusError, Status
from kernel.storage.redis_link import RedisLink
from kernel.web.rest import problem_from

from . import pages
from . import scopes as sc
from .authority import WEB_CLIENT, Authority, InvalidToken, OAuthError, s256
from .external import ExternalIssuers

log = logging.getLogger("shop.plugins.auth")

COOKIE = "shop_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFRESH_EARLY = 60  # seconds before expiry the session refreshes its access token
CSRF_HEADER = "X-CSRF-Token"

GRAPHQL_PATH = "/graphql"  # answered by the kernel in GraphQL's error shape


def _unavailable() -> BusError:
    return BusError(Status.UNAVAILABLE, "Sign-in sessions are unavailable right now; try again shortly.",
                    reason="SESSIONS_UNAVAILABLE", retry_after=2)


def _invalid_token() -> BusError:
    return BusError(Status.UNAUTHENTICATED, "The access token is invalid or has expired.", reason="INVALID_TOKEN")


def safe_next(value: str | None) -> str:
    """Only same-site relative paths: "/orders" yes; "//evil", "https://evil", "/\\evil" no."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return "/"
    if any(ord(c) < 32 for c in value):
        return "/"
    return value


def principal_from_claims(claims: dict[str, Any], via: str, registry: ScopeRegistry) -> Principal:
    # A broader scope grants what it implies (admin: orders:manage, catalog:write) wherever scopes are checked.
    scopes = registry.expand(str(claims.get("scope", "")).split())
    roles = frozenset(r for r in claims.get("roles", []) if isinstance(r, str))
    sub = str(claims["sub"])
    client_id = claims.get("client_id")
    if client_id is not None and sub == client_id:
        return Principal(kind="client", subject=f"client:{sub}", scopes=scopes, roles=roles, client_id=client_id,
                         via=via)
    return Principal(kind="user", subject=sub, user_id=sub, email=claims.get("email"), name=claims.get("name"),
                     roles=roles, scopes=scopes, client_id=client_id, via=via)


class Sessions:
    def __init__(self, authority: Authority, redis: RedisLink | None, external: ExternalIssuers,
                 secure: bool, max_age: int) -> None:
        self.a = authority
        self.redis = redis
        self.external = external
        self.storage: RedisStorage | None = None
        if redis is not None:
            self.storage = RedisStorage(redis.client, cookie_name=COOKIE, max_age=max_age, httponly=True,
                                        samesite="Lax", secure=secure, path="/")

    # ------------------------------------------------------------ middlewares

    def middlewares(self) -> list[Any]:
        @web.middleware
        async def guard(request: web.Request,
                        handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
            """Redis failures of the session store become 503s; bad tokens get WWW-Authenticate."""
            try:
                return await handler(request)
            except (RedisError, OSError) as exc:
                if self.redis is not None:
                    self.redis.mark_down(exc)
                if request.path == GRAPHQL_PATH:
                    raise _unavailable() from None  # the kernel answers /graphql with a GraphQL error
                resp = problem_from(_unavailable(), request.get("request_id"))
            except BusError as exc:
                if exc.reason != "INVALID_TOKEN" or request.path == GRAPHQL_PATH:
                    raise  # the kernel answers: problem+json, or on /graphql a GraphQL error (with the header)
                resp = problem_from(exc, request.get("request_id"))
                resp.headers["WWW-Authenticate"] = 'Bearer realm="shop", error="invalid_token"'
            return resp

        mws: list[Any] = [guard]
        if self.storage is not None:
            mws.append(session_middleware(self.storage))
        return mws

    async def _session(self, request: web.Request, *, create: bool = False) -> Session | None:
        if self.storage is None:
            if create:
                raise _unavailable()
            return None
        if COOKIE not in request.cookies and not create:
            return None
        if not request.cookies.get(COOKIE, "").isascii():
            # Ours are hex; other bytes arrive as surrogate escapes and break the Redis key (a 500).
            if not create:
                return None
            raise BusError(Status.INVALID_ARGUMENT, "The session cookie is malformed; clear this site's cookies.",
                           field_errors=[(COOKIE, "is malformed")])
        if self.redis is not None and not self.redis.available:
            raise _unavailable()  # fail closed, fast
        try:
            return await get_session(request)
        except (RedisError, OSError) as exc:
            if self.redis is not None:
                self.redis.mark_down(exc)
            raise _unavailable() from None

    async def _persist(self, session: Session) -> None:
        """Write the session now (not only at the end of the response), for concurrent requests."""
        if self.storage is None or session.identity is None:
            return
        data = self.storage._encoder(self.storage._get_session_data(session))
        await self.storage._redis.set(f"{COOKIE}_{session.identity}", data, ex=session.max_age)

    # ---------------------------------------------------------- authenticator

    @reads_credentials("Authorization", "Cookie")
    async def authenticate(self, request: web.Request) -> Principal | None:
        auth = request.headers.get("Authorization")
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer":
                return None  # not ours (Basic is for the token endpoint)
            return await self._bearer(token.strip())
        if not (request.path.startswith("/api/") or request.path == "/graphql"):
            return None  # pages and /oauth read the session themselves
        session = await self._session(request)
        if session is None or not session.get("tokens"):
            return None
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
                raise BusError(Status.PERMISSION_DENIED, f"Send the {CSRF_HEADER} header from GET /auth/session "
                               "with cookie-authenticated writes.", reason="CSRF")
        claims = await self._session_claims(session)
        return None if claims is None else principal_from_claims(claims, "session", self.a.scopes)

    async def _bearer(self, token: str) -> Principal:
        # A JWT is ASCII (base64url and dots); aiohttp hands other header bytes over as
        # surrogate escapes, on which PyJWT raises UnicodeEncodeError instead of PyJWTError.
        if not token or len(token) > 8192 or not token.isascii():
            raise _invalid_token()
        try:
            return principal_from_claims(await self.a.verify_access_token(token), "bearer", self.a.scopes)
        except InvalidToken:
            pass
        try:
            iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise _invalid_token() from None
        cfg = self.external.handles(iss)
        if cfg is None or iss == self.a.issuer:
            raise _invalid_token()
        claims = await self.external.verify(cfg, token)
        if claims is None:
            raise _invalid_token()
        user = await self.external.local_user(cfg, claims)
        if user is None or not await self.a.user_active(user["id"]):
            raise _invalid_token()
        return Principal(kind="user", subject=user["id"], user_id=user["id"], email=user["email"], name=user["name"],
                         roles=frozenset(user["roles"]), scopes=self.a.scopes.expand(self.external.scopes(claims)),
                         client_id=str(claims.get("azp") or claims.get("client_id") or "") or None, via="bearer")

    async def _session_claims(self, session: Session) -> dict[str, Any] | None:
        tokens = session["tokens"]
        if tokens.get("exp", 0) - time.time() < REFRESH_EARLY:
            tokens = await self._refresh(session) or tokens
        try:
            return await self.a.verify_access_token(tokens["access"])
        except InvalidToken:
            # Revoked or expired beyond repair: the session is signed out.
            session.pop("tokens", None)
            session.pop("user", None)
            return None

    async def _refresh(self, session: Session) -> dict[str, Any] | None:
        """Refresh once per session even when requests race (a reused refresh token kills the family)."""
        assert self.redis is not None
        lock = self.redis.key(f"auth:refresh-lock:{session.identity}")
        got = await self.redis.client.set(lock, "1", nx=True, px=10_000)
        if not got:
            for _ in range(10):  # another request is refreshing: wait for its result
                await asyncio.sleep(0.1)
                raw = await self.redis.client.get(f"{COOKIE}_{session.identity}")
                if raw and self.storage is not None:
                    fresh = self.storage._decoder(raw if isinstance(raw, str) else raw.decode()).get("session", {}).get("tokens")
                    if fresh and fresh.get("exp", 0) - time.time() >= REFRESH_EARLY:
                        return dict(fresh)
            return None
        try:
            client = await self.a.get_client(WEB_CLIENT)
            assert client is not None
            body = await self.a.refresh(client, session["tokens"]["refresh"], None)
        except OAuthError:
            session.pop("tokens", None)
            session.pop("user", None)
            await self._persist(session)
            return None
        finally:
            await self.redis.client.delete(lock)
        tokens = self._tokens(body)
        session["tokens"] = tokens
        await self._persist(session)
        return tokens

    @staticmethod
    def _tokens(body: dict[str, Any]) -> dict[str, Any]:
        return {"access": body["access_token"], "refresh": body.get("refresh_token"),
                "exp": int(time.time()) + int(body["expires_in"])}

    # ------------------------------------------------------------------ pages

    async def login(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request, create=True)
        assert session is not None
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        session["pending"] = {"state": state, "verifier": verifier, "nonce": nonce,
                              "next": safe_next(request.query.get("next"))}
        params = {"response_type": "code", "client_id": WEB_CLIENT, "redirect_uri": f"{self.a.issuer}/auth/callback",
                  "scope": sc.join(self.a.scopes.names()), "state": state, "nonce": nonce,
                  "code_challenge": s256(verifier), "code_challenge_method": "S256"}
        if request.query.get("signup"):
            params["prompt"] = "create"
        raise web.HTTPFound("/oauth/authorize?" + urlencode(params))

    async def callback(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        pending = session.get("pending") if session is not None else None
        state = request.query.get("state", "")
        if session is None or not pending or not hmac.compare_digest(state.encode(), pending["state"].encode()):
            return pages.error_page("This sign-in did not start here or has expired. Go back to the shop and sign in "
                                    "again.")
        del session["pending"]
        if "error" in request.query or not request.query.get("code"):
            raise web.HTTPSeeOther(pending["next"])
        client = await self.a.get_client(WEB_CLIENT)
        assert client is not None
        try:
            body = await self.a.exchange_code(client, request.query["code"], f"{self.a.issuer}/auth/callback",
                                              pending["verifier"])
        except OAuthError as exc:
            log.warning("session_code_exchange_failed", extra={"error": exc.error})
            return pages.error_page("Signing in did not work. Go back to the shop and try again.")
        claims = await self.a.verify_access_token(body["access_token"])
        # A fresh session id at sign-in (no fixation); the old one is left to expire.
        session = await new_session(request)
        session["tokens"] = self._tokens(body)
        session["csrf"] = secrets.token_urlsafe(32)
        session["user"] = {"id": claims["sub"]}
        raise web.HTTPSeeOther(pending["next"])

    async def session_info(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        body: dict[str, Any] = {"authenticated": False, "csrfToken": None}
        if session is not None and session.get("tokens"):
            claims = await self._session_claims(session)
            if claims is not None:
                from . import users

                user = await users.get_user(self.a.db, str(claims["sub"]))
                if user is not None:
                    u = users.to_message(user)
                    body = {"authenticated": True, "csrfToken": session["csrf"],
                            "user": {"id": u.id, "email": u.email, "name": u.name, "roles": list(u.roles),
                                     "createdAt": u.created_at}}
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def logout_page(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        if session is None or not session.get("csrf"):
            raise web.HTTPSeeOther("/")
        return pages.sign_out(session["csrf"])

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        via_header = CSRF_HEADER in request.headers
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
        if session is not None and session.get("csrf"):
            if not sent or not hmac.compare_digest(sent.encode(), str(session["csrf"]).encode()):
                raise BusError(Status.PERMISSION_DENIED, "The sign-out request lacks the CSRF token.", reason="CSRF")
            tokens = session.get("tokens") or {}
            client = await self.a.get_client(WEB_CLIENT)
            if client is not None and tokens.get("refresh"):
                await self.a.revoke(client, tokens["refresh"], "refresh_token")  # the family: access tokens too
            if client is not None and tokens.get("access"):
                await self.a.revoke(client, tokens["access"], "access_token")
            session.invalidate()
        if via_header:
            return web.Response(status=204, headers={"Cache-Control": "no-store"})
        raise web.HTTPSeeOther("/")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/auth/login", self.login),
            web.get("/auth/callback", self.callback),
            web.get("/auth/session", self.session_info),
            web.get("/auth/logout", self.logout_page),
            web.post("/auth/logout", self.logout),
        ]
