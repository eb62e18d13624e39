"""Full-page screenshots of the main pages at phone and desktop widths, for people to look at.

Saved to tests/e2e/screenshots/<page>-<phone|desktop>.png (not committed). Taking them also checks
what a person would notice first: every page renders its content (no endless skeletons) and nothing
is wider than a 360 px phone screen.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.a11y import violations
from tests.e2e.harness import DESKTOP, PHONE, SCREENSHOTS, Pages, Shop
from tests.e2e.steps import (
    add_to_cart,
    go,
    header_link,
    open_checkout,
    open_shop,
    placed_order_id,
    session_api,
    sign_in,
    top_up,
)

VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
# axe-core runs on every page shot; its critical and serious findings are collected and
# reported together at the end (one run shows them all).
FINDINGS: list[str] = []


def settle(page: Page, ready_testid: str) -> None:
    """Wait for the page's content and for every loading area to finish."""
    page.get_by_test_id(ready_testid).first.wait_for()
    expect(page.locator("main [aria-busy=true]")).to_have_count(0)


def shoot(page: Page, name: str, viewport: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Pictures below the fold are loading="lazy" and a full-page shot does not scroll: load them all now.
    # (An evaluated function, not wait_for_function's string form: the shop's CSP forbids eval.)
    page.evaluate("""() => Promise.allSettled([...document.images].map((img) => {
        img.loading = 'eager';
        return img.complete ? null : new Promise((done) => {
            img.addEventListener('load', done, { once: true });
            img.addEventListener('error', done, { once: true });
        });
    }))""")
    # The sticky header is drawn where a visitor first sees it.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} at {viewport} width is {overflow}px wider than the screen"
    for v in violations(page):
        FINDINGS.append(f"{name}-{viewport}: {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]))


def test_main_pages_render_fully_at_phone_and_desktop_widths(pages: Pages, shop: Shop) -> None:
    FINDINGS.clear()
    product, extra = shop.take_product(), shop.take_product()
    clothing = httpx.get(f"{shop.base}/api/products", params={"category": "clothing", "inStock": "true"}, timeout=30)
    varied = next(p for p in clothing.json()["items"] if len(p["variants"]) > 1)
    page = pages.new(PHONE)

    # The sign-in page (the auth server's form), then sign in from it.
    open_shop(page)
    header_link(page, "sign-in-link").click()
    page.locator("input[name=action][value=signin]").wait_for(state="attached")
    for vp, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        shoot(page, "sign-in", vp)
    sign_in(page, shop.email("photographer"))

    # An order to show, and something in the cart for the cart and checkout pages.
    top_up(page, "EUR", "2000.00")
    add_to_cart(page, product["slug"])
    open_checkout(page)
    # A new address, saved to the address book on the way (the account page then lists it).
    for testid, value in [("addr-name", "Photo Grapher"), ("addr-line1", "Lichtstraße 12 Hinterhaus 3. OG links"),
                          ("addr-city", "Berlin"), ("addr-postalCode", "10115"), ("addr-country", "DE")]:
        page.get_by_test_id(testid).fill(value)
    page.get_by_test_id("place-order").click()
    order_id = placed_order_id(page)
    add_to_cart(page, extra["slug"], qty=2)

    shopper_pages = [
        ("home", "#/", "product-card"),
        ("category", "#/c/kitchen", "product-card"),
        ("search", "#/products?q=lamp", "product-card"),
        ("filtered", "#/c/clothing?stock=1&sort=price_asc", "facets-toggle"),
        ("long-query", "#/products?q=" + "x" * 200, "no-results"),
        ("product", f"#/p/{product['slug']}", "review-summary"),
        ("product-variants", f"#/p/{varied['slug']}", "option-select"),
        ("cart", "#/cart", "cart-line"),
        ("checkout", "#/checkout", "checkout-form"),
        ("orders", "#/orders", "order-row"),
        ("order-detail", f"#/orders/{order_id}", "order-detail"),
        ("order-confirmation", f"#/orders/{order_id}?placed=1", "order-confirmation"),
        ("wallet", "#/wallet", "transaction-row"),
        ("account", "#/account", "saved-address"),
    ]
    for vp, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        for name, route, ready in shopper_pages:
            go(page, "#/not-a-page")  # a hash change always re-renders, even to the same route
            page.get_by_test_id("not-found").wait_for()
            go(page, route)
            settle(page, ready)
            shoot(page, name, vp)

    # Checkout step 2 by card: the exact sums and the provider's card frame (each shot places an order).
    for vp, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        if vp != "phone":
            add_to_cart(page, extra["slug"])
        open_checkout(page)
        page.get_by_test_id("pay-card").check()
        page.get_by_test_id("place-order").click()
        settle(page, "pay-form")
        expect(page.frame_locator("[data-testid=card-frame]").get_by_label("Card number")).to_be_visible()
        shoot(page, "checkout-pay", vp)

    # The phone menu, open.
    page.set_viewport_size(PHONE)
    go(page, "#/")
    settle(page, "product-card")
    expect(header_link(page, "wallet-link")).to_be_visible()
    shoot(page, "menu-open", "phone")

    admin = pages.new(DESKTOP)
    sign_in(admin, shop.email("admin"), start="#/admin")
    # Something to show on the webhooks page: an endpoint on a closed port (its deliveries fail and are logged).
    api = session_api(admin)
    hook = api("POST", "/api/admin/webhooks", data={"url": "http://127.0.0.1:9/hooks/shop",
                                                    "events": ["product.updated", "stock.low"]})
    assert hook.ok, hook.text()
    assert api("PATCH", f"/api/admin/products/{product['id']}", data={"description": "Now with a webhook."}).ok
    for vp, size in VIEWPORTS.items():
        admin.set_viewport_size(size)
        go(admin, "#/")
        settle(admin, "product-card")
        go(admin, "#/admin")
        settle(admin, "admin-product-row")
        admin.get_by_test_id("edit-product").first.click()
        admin.locator("[data-testid=price-form], [data-testid=variant-rows]").first.wait_for()
        shoot(admin, "admin", vp)
        for name, route, ready in [("admin-low-stock", "#/admin/low-stock?threshold=3", "low-stock-table"),
                                   ("admin-sales", "#/admin/sales", "sales-chart"),
                                   ("admin-orders", "#/admin/orders", "admin-order-row"),
                                   ("admin-webhooks", "#/admin/webhooks", "webhook-table")]:
            go(admin, route)
            settle(admin, ready)
            shoot(admin, name, vp)
        go(admin, "#/admin/webhooks")
        settle(admin, "webhook-table")
        admin.get_by_test_id("webhook-log-link").first.click()
        settle(admin, "delivery-log")
        shoot(admin, "admin-webhook-log", vp)
    assert not FINDINGS, "axe-core critical/serious violations:\n" + "\n".join(FINDINGS)
