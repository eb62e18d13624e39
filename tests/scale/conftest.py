from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live import LiveShop


@pytest.fixture
def live_shop(servers: dict[str, str]) -> Iterator[LiveShop]:
    shop = LiveShop(servers["database"], servers["redis"])
    shop.create()
    try:
        yield shop
    finally:
        shop.destroy()
