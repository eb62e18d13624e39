"""Catalog test helpers: an app with catalog + the test identity plugin, admin headers, unique slugs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

import plugins.catalog as catalog_plugin
from plugins.catalog.contract import Catalog
from tests.conftest import rt_of
from tests.support import fake_identity
from tests.support.fake_identity import ALL_USER_SCOPES, principal_header

PLUGINS = [catalog_plugin, fake_identity]
ADMIN = principal_header("admin-1", roles=("admin",), scopes=(*ALL_USER_SCOPES, "admin"))
SHOPPER = principal_header("user-1")


def uniq(prefix: str = "t") -> str:
    """A slug no other test uses (the session database is shared by every test of the run)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def servicer_of(client: Any) -> Any:
    """The CatalogServicer behind an app (its ``fills`` count how often each read really ran)."""
    return rt_of(client).bus._handlers[Catalog.get_product.full_name].__self__


@pytest.fixture
def catalog_client(make_client: Callable[..., Any]) -> Callable[..., Any]:
    async def make(**overrides: Any) -> Any:
        return await make_client(PLUGINS, **overrides)

    return make


class Shop:
    """Admin actions over REST, asserting success."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def category(self, slug: str | None = None, name: str = "Things") -> dict[str, Any]:
        r = await self.client.post("/api/admin/categories", json={"slug": slug or uniq("cat"), "name": name},
                                   headers=ADMIN)
        assert r.status == 201, await r.text()
        return await r.json()  # type: ignore[no-any-return]

    async def product(self, category: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"slug": uniq("p"), "name": "Blue Mug", "description": "A mug.", "categoryId": category["id"],
                "priceMinor": 1299, "currency": "EUR", "stockQty": 10, **fields}
        r = await self.client.post("/api/admin/products", json=body, headers=ADMIN)
        assert r.status == 201, await r.text()
        return await r.json()  # type: ignore[no-any-return]
