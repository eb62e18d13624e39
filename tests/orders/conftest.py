"""Fixtures for the orders tests (real PostgreSQL and Redis from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import rt_of

from .shop import Shop, plugin_modules


@pytest.fixture
async def shop(make_client: Any) -> Shop:
    # Many shoppers from one test: lift the rate limits out of the way.
    limits = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}
    client = await make_client(plugins=plugin_modules(), rate_limits=limits, db_pool_max=20)
    return Shop(client=client, rt=rt_of(client))

