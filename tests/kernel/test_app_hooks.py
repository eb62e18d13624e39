"""The app-assembly hooks a plugin uses for what is not a bus method: pages, middlewares,
a lifespan and demo data (the meta-test in test_graphql_types.py wants each hook tested)."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from kernel.host.app import runtime_of
from kernel.host.hookspecs import hookimpl
from kernel.host.loader import call_each
from kernel.host.plugin import PluginInfo


def _plugin(events: list[str]) -> types.SimpleNamespace:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="a page", content_type="text/html")

    @web.middleware
    async def stamp(request: web.Request, handler: Any) -> web.StreamResponse:
        resp = await handler(request)
        resp.headers["X-Hooked"] = "yes"
        return resp

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    async def seed(rt: Any, options: dict[str, Any]) -> str:
        events.append(f"seeded {sorted(options)}")
        return "1 thing"

    return types.SimpleNamespace(
        shop_plugin=hookimpl(lambda: PluginInfo(name="hooked", version="0.0.1")),
        shop_web_routes=hookimpl(lambda ctx: [web.get("/hooked-page", page)]),
        shop_middlewares=hookimpl(lambda ctx: [stamp]),
        shop_lifespan=hookimpl(lambda ctx: lifespan),
        shop_seed_demo=hookimpl(lambda ctx: seed),
    )


async def test_pages_middlewares_lifespan_and_demo_seed_of_a_plugin(make_client):
    events: list[str] = []
    client = await make_client([_plugin(events)])
    assert events == ["started"]
    r = await client.get("/hooked-page")
    assert r.status == 200 and await r.text() == "a page"
    assert r.headers["X-Hooked"] == "yes" and r.headers["X-Request-Id"]  # inside the kernel's middleware
    api = await client.get("/healthz")
    assert api.headers["X-Hooked"] == "yes"  # on every route, the kernel's too
    rt = runtime_of(client.server.app)
    seeders = call_each(rt.pm, rt.plugins, "shop_seed_demo", lambda lp: None)
    assert [lp.info.name for lp, _fn in seeders] == ["hooked"]
    assert await seeders[0][1](rt, {"products": 1}) == "1 thing"
    assert events == ["started", "seeded ['products']"]
    await client.close()
    assert events[-1] == "stopped"


def test_every_hook_is_in_create_apps_table_or_called_elsewhere():
    from kernel.host import hookspecs
    from kernel.host.app import HOOK_TABLE, HOOKS_CALLED_ELSEWHERE

    specs = {name for name in vars(hookspecs) if name.startswith("shop_")}
    tabled = [rule.hook for rule in HOOK_TABLE]
    assert len(tabled) == len(set(tabled)), "a hook twice in HOOK_TABLE"
    assert set(tabled) | HOOKS_CALLED_ELSEWHERE == specs
    assert not set(tabled) & HOOKS_CALLED_ELSEWHERE
