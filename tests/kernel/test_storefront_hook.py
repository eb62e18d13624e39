"""shop_storefront: plugins' UI modules, served from their package data and listed in the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginError, PluginInfo
from kernel.host.storefront import StorefrontModule, StorefrontPart
from tests.support import fake_identity, hello_plugin

PLUGINS = [hello_plugin, fake_identity]


def _plugin(name: str, part: Any) -> Any:
    class P:
        @hookimpl
        def shop_plugin(self) -> PluginInfo:
            return PluginInfo(name=name, version="1")

        @hookimpl
        def shop_storefront(self, ctx: PluginContext) -> Any:
            return part

    return P()


def _ui(tmp_path: Path) -> Path:
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "badge.js").write_text("export function mount(el) { el.textContent = 'hi'; }\n")
    (tmp_path / "secret.txt").write_text("outside the folder")
    return tmp_path / "ui"


async def test_the_manifest_lists_enabled_plugins_and_their_modules_and_serves_them(make_client, tmp_path):
    root = _ui(tmp_path)
    part = StorefrontPart(root, (StorefrontModule("product.details", "badge.js"),))
    client = await make_client([*PLUGINS, _plugin("badges", part)])
    r = await client.get("/api/storefront/manifest")
    assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
    body = await r.json()
    assert "badges" in body["plugins"] and body["plugins"] == sorted(body["plugins"])
    assert body["modules"] == [{"plugin": "badges", "slot": "product.details", "src": "/plugin-ui/badges/badge.js"}]
    js = await client.get("/plugin-ui/badges/badge.js")
    assert js.status == 200 and "javascript" in js.headers["Content-Type"]
    assert "export function mount" in await js.text()
    # Only the declared folder is served: no way out of it.
    assert (await client.get("/plugin-ui/badges/../secret.txt")).status in (403, 404)
    assert (await client.get("/plugin-ui/badges/%2e%2e/secret.txt")).status in (403, 404)


async def test_without_plugin_ui_the_manifest_has_no_modules(make_client):
    body = await (await (await make_client(PLUGINS)).get("/api/storefront/manifest")).json()
    assert body["modules"] == [] and set(body["plugins"]) >= {"hello"}


@pytest.mark.parametrize("demo", [True, False])
async def test_the_manifest_says_whether_the_shop_runs_in_demo_mode(make_client, demo):
    body = await (await (await make_client(PLUGINS, demo=demo)).get("/api/storefront/manifest")).json()
    assert body["demo"] is demo


@pytest.mark.parametrize("part, message", [
    ("not a part", "must return kernel.host.storefront.StorefrontPart"),
    (StorefrontPart(Path("/nonexistent/ui")), "does not exist"),
    (lambda root: StorefrontPart(root, (StorefrontModule("Product Page", "badge.js"),)), "is not a slot name"),
    (lambda root: StorefrontPart(root, (StorefrontModule("product.details", "../secret.txt"),)), "is not a .js file"),
    (lambda root: StorefrontPart(root, (StorefrontModule("product.details", "missing.js"),)), "is not a .js file"),
])
async def test_a_bad_storefront_part_stops_startup_naming_the_plugin(make_client, tmp_path, part, message):
    root = _ui(tmp_path)
    bad = part(root) if callable(part) else part
    with pytest.raises(PluginError, match=f"plugin 'oops'.*{message}"):
        await make_client([*PLUGINS, _plugin("oops", bad)])
