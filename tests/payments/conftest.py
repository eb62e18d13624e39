"""Fixtures for the payments tests: the orders shop (catalog, wallet, orders, payments, testpay) over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import rt_of
from tests.orders.shop import Shop, plugin_modules

LIMITS = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}


@pytest.fixture
def make_shop(make_client: Any) -> Any:
    async def make(**overrides: Any) -> Shop:
        overrides.setdefault("rate_limits", LIMITS)
        overrides.setdefault("db_pool_max", 20)
        client = await make_client(plugins=plugin_modules(), **overrides)
        return Shop(client=client, rt=rt_of(client))

    return make


@pytest.fixture
async def shop(make_shop: Any) -> Shop:
    return await make_shop()
