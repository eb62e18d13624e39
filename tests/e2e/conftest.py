"""Browser end-to-end fixtures: one real shop, one Chromium, a fresh context per test.

The shop is a real ``shop serve`` process (tests/support/live.py) on its own
database, seeded with the demo catalogue, with an admin and a handful of
shoppers created through the CLI. Every test gets a new browser context (no
shared cookies) and its own shopper and products, so the tests do not depend on
each other's order. A failing test leaves a full-page screenshot in
tests/e2e/failures/<test>.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.harness import ADMIN, CHROMIUM, CHROMIUM_ARGS, SHOPPERS, Pages, Shop
from tests.support.live import PASSWORD, LiveShop


def _create_user(live: LiveShop, email: str, name: str, admin: bool) -> None:
    args = ["users", "create", "--email", email, "--password", PASSWORD, "--name", name]
    live.cli(*args, *(["--admin"] if admin else []))


@pytest.fixture(scope="package")
def shop(servers: dict[str, str]) -> Iterator[Shop]:
    # Webhooks to the tests' receiver on 127.0.0.1 (the admin webhooks page).
    live = LiveShop(servers["database"], servers["redis"], env_extra={"SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1"})
    live.create()
    try:
        live.cli("seed", "--demo")
        users = [(ADMIN, "Ada Admin", True)] + [(f"{s}@shop.test", s.capitalize(), False) for s in SHOPPERS]
        # Each CLI call is a separate process (~1.5 s): create the accounts side by side.
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            for f in [pool.submit(_create_user, live, *u) for u in users]:
                f.result()
        live.start()
        # Single-variant products: the shared steps add to cart without choosing a size.
        # Three pages: each test that buys takes its own product, and the suite holds many such tests.
        products = []
        for page in (1, 2, 3):
            r = httpx.get(f"{live.base}/api/products", params={"pageSize": 100, "sort": "name", "page": page},
                          timeout=30)
            r.raise_for_status()
            products += [p for p in r.json()["items"] if p["currency"] == "EUR" and p["stockQty"] >= 3
                         and len(p["variants"]) == 1]
        assert len(products) >= 10, "the demo catalogue should hold plenty of EUR products in stock"
        yield Shop(live, products)
    finally:
        live.destroy()


@pytest.fixture(scope="package")
def chromium() -> str:
    """Debian's Chromium; without it every browser test fails (never skips), before any server starts."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) to run the "
                    "browser tests; they are never skipped.", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="package")
def playwright_driver(chromium: str, shop: Shop) -> Iterator[Playwright]:
    # The sync driver keeps an event loop running on this thread until it stops, and LiveShop's setup and
    # teardown use asyncio.run: depending on ``shop`` makes the shop start before and stop after the driver.
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(chromium: str, playwright_driver: Playwright) -> Iterator[Browser]:
    b = playwright_driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell at teardown whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def pages(browser: Browser, shop: Shop, request: pytest.FixtureRequest) -> Iterator[Pages]:
    """``pages.new()`` -> a Page in its own context (cookies are per context, so one per user)."""
    p = Pages(browser, shop.base)
    yield p
    rep = getattr(request.node, "rep_call", None)
    failed = rep is not None and rep.failed
    p.close(re.sub(r"[^\w.-]+", "_", request.node.name) if failed else None)
    if not failed:
        assert not p.errors, f"uncaught errors in the storefront: {p.errors}"


@pytest.fixture
def page(pages: Pages) -> Page:
    return pages.new()
