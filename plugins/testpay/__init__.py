"""The test payment provider, as a plugin: tokens, a hosted-field script, signed webhooks.

Adds the ``test`` provider through ``shop_payment_providers``; never moves real money.
Endpoints: ``POST /test-provider/tokens`` (card -> token; keeps brand and last 4,
logs no body), ``POST /test-provider/actions/{token}`` (completes the extra step of
the requires-action test card), ``POST /test-provider/webhooks`` (signed provider
events) and ``GET /test-provider/hosted-fields.js`` (the client-side script).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from kernel.core.context import CallContext
from kernel.core.messages import constraint, message
from kernel.core.status import HTTP_STATUS, BusError
from kernel.host.hookspecs import contribution, hookimpl
from kernel.host.plugin import PluginContext, PluginError, PluginInfo
from kernel.web.graphql import GraphQLPart, bus_field
from kernel.web.rest import Route

from .contract import TestProvider

if TYPE_CHECKING:
    from .provider import TestPayProvider

STATIC = Path(__file__).parent / "static"
MAX_WEBHOOK_BODY = 64 * 1024


@message
class TestPayConfig:
    __test__ = False
    delay_ms: int = constraint(default=0, min=0, max=10_000, doc="latency of every authorization, void and refund")
    webhook_secret: str = constraint(default="", max_len=200, pattern=r"(?:.{16,})?",
                                     doc="HMAC key of the Testpay-Signature header (at least 16 characters); "
                                         "unset: derived from the shop's secret key")
    allow_in_production: bool = constraint(default=False, doc="let a production-mode shop run the test provider "
                                                              "(it approves any Luhn-valid card)")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="testpay", version="0.2.0", description="test payment provider (no real money)",
                      requires=("payments",), config=TestPayConfig)


shop_tables = contribution(__name__, ".tables:TABLES")


def provider_of(ctx: PluginContext) -> TestPayProvider:
    """The app's one provider: payments asks for it (shop_payment_providers), the test service drives it."""
    from .provider import TestPayProvider

    return ctx.state(TestPayProvider, lambda: TestPayProvider(ctx))


@hookimpl
def shop_payment_providers(ctx: PluginContext) -> list[Any]:
    settings = ctx.settings
    # The test provider approves any Luhn-valid card: a public shop that forgot to switch providers
    # would give its goods away. A deliberate public demo says so with either setting.
    if settings.production and not (ctx.config.allow_in_production or settings.allow_demo_in_production):
        raise PluginError("plugin 'testpay': the test payment provider approves any valid-looking card, so "
                          "production mode refuses it; disable it (SHOP_PLUGINS_DISABLED=testpay or [plugins] disabled) "
                          "or, for a public demo, set SHOP_PLUGINS__TESTPAY__ALLOW_IN_PRODUCTION=1")
    return [provider_of(ctx)]


@hookimpl
def shop_services(ctx: PluginContext) -> list[tuple[Any, object]]:
    from .service import TestProviderServicer

    return [(TestProvider, TestProviderServicer(provider_of(ctx)))]


@hookimpl
def shop_routes(ctx: PluginContext) -> list[Route]:
    tags = ("test provider",)
    return [
        Route("POST", "/test-provider/tokens", TestProvider.tokenize,
              summary="Turn a test card into a payment token (the hosted field's job)", tags=tags),
        Route("POST", "/test-provider/actions/{token}", TestProvider.complete_action,
              summary="Complete the extra step a requires-action test card asks for", tags=tags),
    ]


@hookimpl
def shop_graphql(ctx: PluginContext) -> GraphQLPart:
    return GraphQLPart(sdl=(Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8"), resolvers={
        "Mutation.testProviderTokenize": bus_field(TestProvider.tokenize),
        "Mutation.testProviderCompleteAction": bus_field(TestProvider.complete_action),
    })


@hookimpl
def shop_web_routes(ctx: PluginContext) -> list[Any]:
    from plugins.payments.contract import Payments, ProviderWebhook

    async def script(request: web.Request) -> web.StreamResponse:
        return web.Response(body=(STATIC / "hosted-fields.js").read_bytes(), content_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=300"})

    async def webhook(request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_WEBHOOK_BODY:
            return _problem(413, "The webhook body is too large.", "BODY_TOO_LARGE")
        body = await request.content.read(MAX_WEBHOOK_BODY + 1)
        if len(body) > MAX_WEBHOOK_BODY:
            return _problem(413, "The webhook body is too large.", "BODY_TOO_LARGE")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _problem(400, "The webhook body is not UTF-8.", "BAD_BODY")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            intent = await ctx.bus.call(Payments.provider_webhook,
                                        ProviderWebhook(provider="test", body=text, headers=headers),
                                        CallContext(depth=1))
        except BusError as exc:
            return _problem(HTTP_STATUS.get(exc.status, 500), exc.message, exc.reason)
        return web.json_response({"received": True, "status": intent.status})

    # The card frame is the one page of the shop's origin that the shop's own pages may frame
    # (the provider's hosted field); everything else keeps frame-ancestors 'none'.
    frame_csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; "
                 "form-action 'none'")
    frame_files = {"card-frame.html": "text/html", "card-frame.js": "text/javascript", "card-frame.css": "text/css"}

    async def frame_file(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in frame_files:
            raise web.HTTPNotFound()
        return web.Response(body=(STATIC / name).read_bytes(), content_type=frame_files[name],
                            headers={"Cache-Control": "public, max-age=300", "Content-Security-Policy": frame_csp,
                                     "X-Frame-Options": "SAMEORIGIN"})

    return [web.get("/test-provider/hosted-fields.js", script), web.post("/test-provider/webhooks", webhook),
            web.get(r"/test-provider/{name:card-frame\.(?:html|js|css)}", frame_file)]


def _problem(status: int, detail: str, reason: str | None) -> web.Response:
    body = {"type": "about:blank", "title": "Webhook refused" if status < 500 else "Error", "status": status,
            "detail": detail, "code": reason or "ERROR", "reason": reason}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/problem+json")
