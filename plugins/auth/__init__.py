"""Auth plugin: the shop's own OAuth 2.0 / OpenID Connect server, users, sessions, scopes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

from kernel.engine.config import ConfigError
from kernel.engine.runtime import Runtime
from kernel.host.app import LENIENT_START
from kernel.host.hookspecs import contribution, hookimpl
from kernel.host.plugin import PluginContext, PluginInfo
from kernel.web.probes import ReadinessCheck

from .authority import Authority
from .config import AuthConfig
from .contract import SCOPES, PasswordResetMail, Users
from .external import ExternalIssuers
from .oauth import OAuthEndpoints
from .reset import PasswordResets
from .service import UsersServicer
from .session import Sessions
from .throttle import FailureThrottle, Limits

log = logging.getLogger("shop.plugins.auth")


class AuthState:
    """Everything the plugin builds for one app (no module-level state)."""

    def __init__(self, ctx: PluginContext) -> None:
        rt = ctx.runtime
        config: AuthConfig = ctx.config or AuthConfig()
        self.authority = Authority(ctx.db, rt.redis, ctx.settings, config, rt.scopes)
        self.external = ExternalIssuers(ctx.db, config.external_issuers, rt.scopes)
        signin = Limits(config.signin_failures_per_pair, config.signin_failures_per_address,
                        config.signin_failures_per_account, config.signin_window)
        token = Limits(config.token_failures_per_pair, config.token_failures_per_address,
                       config.token_failures_per_account, config.token_window)
        policy = ctx.settings.rate_limit_outage
        self.oauth = OAuthEndpoints(self.authority, rt.limiter, FailureThrottle(rt.redis, "signin", signin, policy),
                                    FailureThrottle(rt.redis, "signup", signin, policy),
                                    FailureThrottle(rt.redis, "token", token, policy))
        reset = Limits(config.reset_requests_per_email, config.reset_requests_per_address,
                       config.reset_requests_per_email, config.reset_window)
        self.resets = PasswordResets(ctx.db, ctx, self.authority, config,
                                     FailureThrottle(rt.redis, "reset", reset, policy))
        self.sessions = Sessions(self.authority, rt.redis, self.external, ctx.settings.secure_cookies,
                                 config.session_max_age)


def state(ctx: PluginContext) -> AuthState:
    return ctx.state(AuthState, lambda: AuthState(ctx))


def authority_of(rt: Runtime) -> Authority:
    """The authority of the app ``rt`` belongs to (for the CLI and test helpers)."""
    return rt.made("auth", AuthState).authority


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="auth", version="0.1.0", description="OAuth 2.0 / OIDC server, users, sessions",
                      config=AuthConfig, scopes=SCOPES, events=(PasswordResetMail,))


shop_tables = contribution(__name__, ".tables:TABLES")


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    return [(Users, UsersServicer(ctx.db, state(ctx).authority, state(ctx).resets))]


@hookimpl
def shop_web_routes(ctx: PluginContext) -> list[Any]:
    st = state(ctx)
    return st.oauth.routes() + st.sessions.routes()


shop_graphql = contribution(__name__, ".graphql:part()")


@hookimpl
def shop_authenticators(ctx: PluginContext) -> list[Any]:
    return [state(ctx).sessions.authenticate]


@hookimpl
def shop_middlewares(ctx: PluginContext) -> list[Any]:
    return state(ctx).sessions.middlewares()


PURGE_EVERY = 600.0  # seconds
UNREADABLE_KEY = ("auth: the token signing key cannot be decrypted with this SHOP_SECRET_KEY (it was made with "
                  "another one); set the secret it was made with, or run `shop keys rotate` to make a new key "
                  "(everyone signs in again)")


@hookimpl
def shop_readiness_checks(ctx: PluginContext) -> list[ReadinessCheck]:
    st = state(ctx)

    async def signing_key() -> str | None:
        keys = st.authority.keys
        if keys.active is None:
            await keys.load()  # fixed meanwhile (another process rotated)?
        return None if keys.active is not None else "no usable signing key (wrong SHOP_SECRET_KEY, or not migrated)"

    return [ReadinessCheck("signingKey", signing_key)]


async def _purge_every(authority: Any, resets: PasswordResets, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            purged = await authority.purge_expired()
            purged["auth_password_reset"] = await resets.purge()
            if any(purged.values()):
                log.info("expired_tokens_purged", extra=purged)
        except Exception as exc:  # the database may be away; try again next round
            log.warning("token_purge_failed", extra={"error": str(exc)})


@hookimpl
def shop_lifespan(ctx: PluginContext) -> Any:
    st = state(ctx)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        try:
            await st.authority.start()
        except asyncpg.UndefinedTableError:
            # Not migrated yet (e.g. a CLI command on a fresh database); commands migrate, then start.
            log.warning("auth_tables_missing", extra={"hint": "run `shop migrate`"})
        else:
            # start() creates a key when there is none, so no active key means it cannot be decrypted.
            # A server must not start only to fail every token request; CLI commands may (keys rotate).
            if st.authority.keys.active is None and not app.get(LENIENT_START, False):
                raise ConfigError(UNREADABLE_KEY)
        cleaner = asyncio.create_task(_purge_every(st.authority, st.resets, PURGE_EVERY), name="auth-purge")
        yield
        cleaner.cancel()
        await asyncio.gather(cleaner, return_exceptions=True)

    return lifespan


shop_cli = contribution(__name__, ".cli:commands()")
