"""The browser tests' harness: constants, the shop under test and the per-test page opener."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.live import LiveShop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
HERE = Path(__file__).resolve().parent
FAILURES = HERE / "failures"
SCREENSHOTS = HERE / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# Explicit waits give up after this long (ms): generous for a loaded CI machine, short enough to fail fast.
TIMEOUT_MS = 15_000

ADMIN = "admin@shop.test"
# One shopper per flow, so a flow never sees another's cart, wallet or orders.
SHOPPERS = ("buyer", "decliner", "sender", "recipient", "watcher", "plain", "expiring", "photographer", "searcher",
            "sizer", "picker", "stocker", "dropper", "phoner", "cardholder", "reviewer", "stranger", "renamer",
            "rekeyer", "visitor", "spender", "tracker", "addressbook", "phonebuyer", "guestmerger",
            "forgetter", "phoneforgetter")


@dataclass
class Shop:
    live: LiveShop
    products: list[dict[str, Any]] = field(default_factory=list)  # EUR, in stock, unused so far

    @property
    def base(self) -> str:
        return self.live.base

    def email(self, who: str) -> str:
        return ADMIN if who == "admin" else f"{who}@shop.test"

    def take_product(self) -> dict[str, Any]:
        """A product no other test touches (prices and stock change during the run)."""
        return self.products.pop(0)


class Pages:
    """Opens pages in fresh contexts; at teardown saves screenshots of failed tests and closes everything."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.opened: list[tuple[BrowserContext, Page]] = []
        self.errors: list[str] = []

    def new(self, viewport: dict[str, int] | None = None) -> Page:
        context = self.browser.new_context(base_url=self.base, viewport=viewport or DESKTOP,  # type: ignore[arg-type]
                                           locale="en-US", timezone_id="UTC")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        # An uncaught exception in the storefront is a bug even when the flow happens to pass.
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        self.opened.append((context, page))
        return page

    def close(self, failed_name: str | None) -> None:
        for i, (context, page) in enumerate(self.opened):
            if failed_name is not None and not page.is_closed():
                FAILURES.mkdir(parents=True, exist_ok=True)
                suffix = "" if i == 0 else f"-{i + 1}"
                try:
                    page.screenshot(path=str(FAILURES / f"{failed_name}{suffix}.png"), full_page=True)
                except Exception as exc:  # a failed screenshot must not hide the test's failure
                    print(f"could not save the failure screenshot: {exc}")
            context.close()
