"""Rate limits hold on every path: REST and GraphQL, answered from a cache or not.

A GraphQL response served whole from the local cache used to skip the bus, and with
it the rate-limit interceptor: a client repeating one cached query was never limited.
Here a live server runs with a small ``read`` limit and each test uses its own caller
(a fresh user token), so that the budgets do not mix.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import PASSWORD, LiveShop, obtain_token

READ_LIMIT = 6  # per 600 s: no token comes back while a test runs
QUERY = "{ categories { id slug } }"

pytestmark = pytest.mark.timeout(180)

_users = itertools.count()


@pytest.fixture(scope="module")
def shop(servers: dict[str, str]) -> Iterator[LiveShop]:
    s = LiveShop(servers["database"], servers["redis"], env_extra={"SHOP_RATE_LIMIT_READ": f"{READ_LIMIT}/600"})
    s.create()
    try:
        s.cli("seed", "--demo")
        s.start()
        yield s
    finally:
        s.destroy()


def fresh_caller(shop: LiveShop) -> dict[str, str]:
    email = f"limited{next(_users)}@example.com"
    shop.cli("users", "create", "--email", email, "--password", PASSWORD)
    return {"Authorization": f"Bearer {obtain_token(shop.base, email)['access_token']}"}


def assert_rate_headers(r: httpx.Response) -> None:
    for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert h in r.headers, (h, r.status_code, dict(r.headers))
    assert int(r.headers["RateLimit-Limit"]) == READ_LIMIT


def test_repeating_a_cached_graphql_query_is_rate_limited_with_429_and_headers(shop: LiveShop) -> None:
    auth = fresh_caller(shop)
    statuses: list[int] = []
    cache: list[str | None] = []
    with httpx.Client(base_url=shop.base, headers=auth, timeout=10) as c:
        for _ in range(READ_LIMIT + 4):
            r = c.post("/graphql", json={"query": QUERY})
            statuses.append(r.status_code)
            cache.append(r.headers.get("X-Cache"))
            assert_rate_headers(r)
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1
                assert r.headers["RateLimit-Remaining"] == "0"
                body = r.json()
                assert body["errors"][0]["extensions"]["code"] == "RESOURCE_EXHAUSTED"
                assert body["errors"][0]["extensions"]["reason"] == "RATE_LIMITED"
    assert "local" in cache, f"the query should be answered from the response cache: {cache}"
    assert statuses[:READ_LIMIT] == [200] * READ_LIMIT, statuses
    assert statuses[READ_LIMIT:] == [429] * 4, statuses


def test_rest_and_graphql_reads_share_one_budget_cached_or_not(shop: LiveShop) -> None:
    auth = fresh_caller(shop)
    allowed = 0
    with httpx.Client(base_url=shop.base, headers=auth, timeout=10) as c:
        for i in range(READ_LIMIT + 4):
            if i % 2:
                r = c.get("/api/categories")
            else:
                r = c.post("/graphql", json={"query": QUERY})
            assert_rate_headers(r)
            assert r.status_code in (200, 429), r.text[:300]
            allowed += r.status_code == 200
    assert allowed == READ_LIMIT


def test_every_field_of_a_cached_graphql_response_counts(shop: LiveShop) -> None:
    # Two aliased reads per request: the cached answer costs what running it costs.
    auth = fresh_caller(shop)
    q = "{ a: categories { id } b: categories { slug } }"
    statuses = []
    with httpx.Client(base_url=shop.base, headers=auth, timeout=10) as c:
        for _ in range(READ_LIMIT):
            statuses.append(c.post("/graphql", json={"query": q}).status_code)
    assert statuses[:READ_LIMIT // 2] == [200] * (READ_LIMIT // 2), statuses
    assert statuses[READ_LIMIT // 2:] == [429] * (READ_LIMIT - READ_LIMIT // 2), statuses
