"""Plugin UI for the storefront: ES modules a plugin ships, mounted into named slots.

A plugin returns a ``StorefrontPart`` from ``shop_storefront``: a folder of its package
data and the modules in it, each for one slot. The kernel serves the folder at
``/plugin-ui/{plugin}/`` (same origin, so the storefront's CSP ``script-src 'self'``
allows them) and ``GET /api/storefront/manifest`` tells the storefront which plugins
are on and which modules to mount. The kernel knows slot names only as strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .plugin import PluginError

SLOT = re.compile(r"^[a-z][a-z0-9-]{0,39}(\.[a-z][a-z0-9-]{0,39})?$")
FILE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.js$")


@dataclass(frozen=True)
class StorefrontModule:
    slot: str  # e.g. "product.details" (docs/storefront.md lists the slots)
    file: str  # a .js file relative to the part's root


@dataclass(frozen=True)
class StorefrontPart:
    root: Path
    modules: tuple[StorefrontModule, ...] = field(default_factory=tuple)


def check_part(plugin: str, part: Any) -> StorefrontPart:
    """Refuse at startup what would fail or leak at request time."""
    if not isinstance(part, StorefrontPart):
        raise PluginError(f"plugin {plugin!r}: shop_storefront must return kernel.host.storefront.StorefrontPart")
    root = Path(part.root)
    if not root.is_dir():
        raise PluginError(f"plugin {plugin!r}: storefront folder {str(root)!r} does not exist")
    for m in part.modules:
        if not SLOT.match(m.slot):
            raise PluginError(f"plugin {plugin!r}: storefront slot {m.slot!r} is not a slot name")
        if not FILE.match(m.file) or not (root / m.file).is_file():
            raise PluginError(f"plugin {plugin!r}: storefront module {m.file!r} is not a .js file in {str(root)!r}")
    return StorefrontPart(root, tuple(part.modules))


def add_routes(app: web.Application, plugins: list[str], parts: list[tuple[str, StorefrontPart]],
               *, demo: bool = False) -> None:
    manifest = {
        "plugins": sorted(plugins),
        # Demo mode (SHOP_DEMO): the storefront says so and shows the test cards and free top-ups.
        "demo": demo,
        "modules": [{"plugin": name, "slot": m.slot, "src": f"/plugin-ui/{name}/{m.file}"}
                    for name, part in parts for m in part.modules],
    }
    body = json.dumps(manifest, separators=(",", ":")).encode()

    async def get_manifest(request: web.Request) -> web.Response:
        # Changes only with a restart: revalidate often, never store for long.
        return web.Response(body=body, content_type="application/json", headers={"Cache-Control": "no-cache"})

    app.router.add_get("/api/storefront/manifest", get_manifest)
    for name, part in parts:
        app.router.add_static(f"/plugin-ui/{name}/", part.root)
