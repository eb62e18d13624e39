from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.hostile.serverlog import ServerLog
from tests.support.live import PASSWORD, USER_SCOPES, LiveShop, obtain_token


@dataclass(frozen=True)
class FuzzTarget:
    shop: LiveShop
    user_token: str
    admin_token: str
    log: ServerLog


@pytest.fixture(scope="module")
def fuzz_target(servers: dict[str, str]) -> Iterator[FuzzTarget]:
    """A real server on a fresh, seeded database, with a shopper's and an admin's token."""
    shop = LiveShop(servers["database"], servers["redis"])
    shop.create()
    try:
        shop.cli("seed", "--demo")
        shop.cli("users", "create", "--email", "fuzz-user@example.com", "--password", PASSWORD)
        shop.cli("users", "create", "--email", "fuzz-admin@example.com", "--password", PASSWORD, "--admin")
        log = ServerLog(shop)
        log.follow(shop.start())
        user = obtain_token(shop.base, "fuzz-user@example.com")["access_token"]
        admin = obtain_token(shop.base, "fuzz-admin@example.com", scope=f"{USER_SCOPES} admin")["access_token"]
        yield FuzzTarget(shop, user, admin, log)
    finally:
        shop.destroy()
