"""Shopper actions shared by the browser tests, written against the storefront's data-testid hooks.

Every step ends with an explicit wait for what the shopper would see, never a sleep.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.support.live import PASSWORD


def wait_ready(page: Page) -> None:
    """The storefront sets <html data-ready> once the session is known and the first view rendered."""
    page.locator("html[data-ready=true]").wait_for(state="attached")


def open_shop(page: Page, hash_route: str = "#/") -> None:
    """Load the storefront afresh at a route (a full page load, not a hash change)."""
    page.goto(f"/{hash_route}")
    wait_ready(page)


def go(page: Page, hash_route: str) -> None:
    """Client-side navigation, as a click on an in-app link does."""
    page.evaluate("(h) => { location.hash = h; }", hash_route)


def header_link(page: Page, testid: str) -> Locator:
    """A link in the header's navigation; below 960 px it sits behind the menu button, so open that first."""
    link = page.get_by_test_id(testid)
    toggle = page.get_by_test_id("nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    return link


def sign_in(page: Page, email: str, password: str = PASSWORD, *, start: str = "#/") -> None:
    """The real flow: the header's sign-in link, the server's sign-in form, back to the same view."""
    open_shop(page, start)
    header_link(page, "sign-in-link").click()
    fill_sign_in_form(page, email, password)


def fill_sign_in_form(page: Page, email: str, password: str = PASSWORD) -> None:
    page.locator("input[name=action][value=signin]").wait_for(state="attached")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/#/"))
    wait_ready(page)
    page.get_by_test_id("user-name").wait_for(state="attached")  # behind the menu button on phones


def balance(page: Page, currency: str) -> int:
    """The wallet page's balance in minor units (the tile's data attribute, not the formatted text)."""
    tile = page.locator(f"[data-testid=wallet-balance][data-currency={currency}]")
    tile.wait_for()
    return int(tile.get_attribute("data-balance-minor") or "0")


def open_wallet(page: Page) -> None:
    go(page, "#/wallet")
    page.get_by_test_id("topup-form").wait_for()


def top_up(page: Page, currency: str, amount: str) -> None:
    """Top up through the wallet page's form and wait for the confirmation."""
    open_wallet(page)
    form = page.get_by_test_id("topup-form")
    form.get_by_test_id("topup-currency").select_option(currency)
    form.get_by_test_id("topup-amount").fill(amount)
    form.get_by_role("button", name="Top up").click()
    result = page.get_by_test_id("topup-error")
    expect(result).to_have_attribute("role", "status")
    expect(result).to_contain_text("Added")


def add_to_cart(page: Page, slug: str, qty: int = 1) -> None:
    """From the product page, and wait for the header's cart count to move."""
    go(page, f"#/p/{slug}")
    detail = page.locator(f"[data-testid=product-detail][data-slug='{slug}']")
    detail.wait_for()
    before = int(page.get_by_test_id("cart-count").get_attribute("data-count") or "0")
    if qty != 1:
        detail.get_by_test_id("qty-input").fill(str(qty))
    detail.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("add-to-cart-message")).to_contain_text("Added")
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", str(before + qty))


def open_checkout(page: Page) -> None:
    go(page, "#/cart")
    page.get_by_test_id("checkout-button").click()
    page.get_by_test_id("checkout-form").wait_for()


def placed_order_id(page: Page) -> str:
    """After "Place order" the storefront lands on #/orders/{id}?placed=1."""
    page.wait_for_url(re.compile(r"#/orders/[0-9a-f-]{36}\?placed=1$"))
    page.get_by_test_id("order-confirmation").wait_for()
    m = re.search(r"#/orders/([0-9a-f-]{36})", page.url)
    assert m, page.url
    return m.group(1)


def session_api(page: Page) -> Callable[..., Any]:
    """Calls the REST API with the page's session cookie and CSRF token, as the storefront does."""
    csrf = page.request.get("/auth/session").json().get("csrfToken") or ""

    def call(method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-CSRF-Token": csrf, "Accept": "application/json", **kwargs.pop("headers", {})}
        return page.request.fetch(path, method=method, headers=headers, **kwargs)

    return call


def major(minor: int) -> str:
    """Minor units of a two-decimal currency as the storefront shows them (en-US): 12345 -> "123.45"."""
    return f"{minor // 100:,}.{minor % 100:02d}"


def review_card_order(page: Page, currency: str | None = None) -> None:
    """Checkout step 1 by card: "Review and pay" creates the order; step 2 shows its sums and the card frame."""
    page.get_by_test_id("pay-card").check()
    if currency:
        page.get_by_test_id("card-currency").select_option(currency)
    page.get_by_test_id("place-order").click()
    page.get_by_test_id("pay-form").wait_for()


def pay_in_card_frame(page: Page, number: str, exp: str = "12/34", cvc: str = "123") -> None:
    """Types the card into the provider's frame (the shop's page has no card inputs) and pays."""
    frame = page.frame_locator("[data-testid=card-frame]")
    frame.get_by_label("Card number").fill(number)
    frame.get_by_label("Expiry (MM/YY)").fill(exp)
    frame.get_by_label("CVC").fill(cvc)
    page.get_by_test_id("pay-now").click()
