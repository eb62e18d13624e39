"""Fixtures for the webhooks tests: catalog, wallet, orders and webhooks in process, private targets allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import plugins.webhooks
from tests.conftest import rt_of
from tests.orders.shop import Shop, plugin_modules

from .receiver import Receiver

FAST = {"retry_base_ms": 50, "retry_max_seconds": 1, "poll_ms": 50, "timeout_ms": 3000}


async def _retire_endpoints(shop: Shop) -> None:
    """Endpoints live in the run's shared database: retire them so no later test's worker sends to them."""
    await shop.rt.db.execute("UPDATE webhooks_endpoint SET active = false, deleted_at = coalesce(deleted_at, now())")


@pytest.fixture
async def hooks_shop(make_client: Any, monkeypatch: Any) -> AsyncIterator[Callable[..., Any]]:
    made: list[Shop] = []

    async def make(allow_private: bool = True, **config: Any) -> Shop:
        if allow_private:
            monkeypatch.setenv("SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "1")
        else:
            monkeypatch.delenv("SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS", raising=False)
        limits = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}
        client = await make_client(plugins=[*plugin_modules(), plugins.webhooks], rate_limits=limits,
                                   plugin_config={"webhooks": {**FAST, **config}})
        rt = rt_of(client)
        assert rt.outbox is not None
        rt.outbox.policy.poll = 0.05
        shop = Shop(client=client, rt=rt)
        await _retire_endpoints(shop)
        made.append(shop)
        return shop

    yield make
    for shop in made:
        await _retire_endpoints(shop)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()
