"""Fixtures for the shipping tests: catalog, wallet, orders and shipping over the real PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest

import plugins.shipping
from tests.conftest import rt_of
from tests.orders.shop import Shop, plugin_modules


@pytest.fixture
async def shop(make_client: Any) -> Shop:
    limits = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}
    client = await make_client(plugins=[*plugin_modules(), plugins.shipping], rate_limits=limits, db_pool_max=20)
    rt = rt_of(client)
    # Zones and tax rates are shop-wide (a country is in one zone): each test starts from none.
    await rt.db.execute("DELETE FROM shipping_zone")
    await rt.db.execute("DELETE FROM shipping_tax_rate")
    return Shop(client=client, rt=rt)
