"""Storefront v2 journeys: variant picker, facets, display currency, stock-bounded quantities,
shopper-readable errors, the phone header, plugin UI slots and plugins switched off.

Each runs on Chromium at desktop width and, where the layout differs, at phone width too;
axe-core checks the states these journeys reach (0 critical and 0 serious violations).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.harness import DESKTOP, PHONE, Pages, Shop
from tests.e2e.steps import (
    add_to_cart,
    fill_sign_in_form,
    go,
    header_link,
    open_checkout,
    open_shop,
    pay_in_card_frame,
    placed_order_id,
    review_card_order,
    session_api,
    sign_in,
    top_up,
    wait_ready,
)
from tests.support.live import PASSWORD, LiveShop


def _products(shop: Shop, **params: Any) -> list[dict[str, Any]]:
    r = httpx.get(f"{shop.base}/api/products", params={"pageSize": 100, **params}, timeout=30)
    r.raise_for_status()
    return list(r.json()["items"])


def _variant_product(shop: Shop) -> dict[str, Any]:
    """A clothing product with two options, one variant sold out and several in stock (made so by the admin API)."""
    return next(p for p in _products(shop, category="clothing")
                if len(p["options"]) >= 2 and sum(1 for v in p["variants"] if v["stockQty"] >= 3) >= 3)


def _admin_api(pages: Pages, shop: Shop) -> Any:
    admin = pages.new(DESKTOP)
    sign_in(admin, shop.email("admin"))
    return session_api(admin)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_variant_picker_follows_each_choice_and_marks_sold_out_combinations(
        pages: Pages, shop: Shop, viewport: str) -> None:
    product = _variant_product(shop)
    in_stock = [v for v in product["variants"] if v["stockQty"] >= 3]
    sold_out = in_stock[-1] if viewport == "desktop" else in_stock[-2]
    api = _admin_api(pages, shop)
    r = api("PUT", f"/api/admin/variants/{sold_out['id']}/stock", data={"stockQty": 0})
    assert r.ok, r.text()

    page = pages.new(DESKTOP if viewport == "desktop" else PHONE)
    sign_in(page, shop.email("picker"))
    go(page, f"#/p/{product['slug']}")
    detail = page.get_by_test_id("product-detail")
    pickers = detail.get_by_test_id("option-select")
    expect(pickers).to_have_count(len(product["options"]))
    chosen = next(v for v in in_stock if v["id"] != sold_out["id"])
    for name, value in chosen["options"].items():
        detail.locator(f"[data-testid=option-select][data-option='{name}']").select_option(value)
    expect(detail.get_by_test_id("variant-sku")).to_contain_text(chosen["sku"])
    expect(detail.get_by_test_id("product-price")).to_contain_text(f"{chosen['priceMinor'] // 100}")

    # The sold-out combination: its value says so once the other options match it.
    for name, value in sold_out["options"].items():
        detail.locator(f"[data-testid=option-select][data-option='{name}']").select_option(value)
    expect(detail.get_by_test_id("variant-sku")).not_to_contain_text(sold_out["sku"])  # moved to one in stock
    last = list(sold_out["options"].items())[-1]
    others_like_sold_out = all(
        detail.locator(f"[data-testid=option-select][data-option='{n}']").input_value() == v
        for n, v in list(sold_out["options"].items())[:-1])
    if others_like_sold_out:
        option = detail.locator(f"[data-testid=option-select][data-option='{last[0]}'] option[value='{last[1]}']")
        expect(option).to_contain_text("sold out")
    assert_accessible(page, f"product with variants ({viewport})")


def test_quantities_above_stock_or_fractional_are_refused_with_the_number_in_stock(pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    page = pages.new()
    sign_in(page, shop.email("stocker"))
    go(page, f"#/p/{product['slug']}")
    detail = page.get_by_test_id("product-detail")
    stock = product["stockQty"]
    message = page.get_by_test_id("add-to-cart-message")

    detail.get_by_test_id("qty-input").fill("1.5")
    detail.get_by_test_id("add-to-cart").click()
    expect(detail.locator(".field-error")).to_contain_text("whole number")
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", "0")

    detail.get_by_test_id("qty-input").fill(str(stock + 1))
    detail.get_by_test_id("add-to-cart").click()
    expect(detail.locator(".field-error")).to_contain_text(f"Only {stock} in stock")
    expect(message).to_have_attribute("data-reason", "OUT_OF_STOCK")
    expect(detail.get_by_test_id("qty-input")).to_be_focused()
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", "0")
    assert_accessible(page, "product with a quantity error")

    # In the cart: a quantity above the stock is refused with the number, and nothing changes.
    detail.get_by_test_id("qty-input").fill("1")
    detail.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", "1")
    go(page, "#/cart")
    line = page.get_by_test_id("cart-line")
    line.get_by_test_id("qty-input").fill(str(stock + 5))
    line.get_by_test_id("update-qty").click()
    error = page.get_by_test_id("cart-error")
    expect(error).to_contain_text(f"Only {stock} of")
    expect(error).to_have_attribute("data-reason", "OUT_OF_STOCK")
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", "1")
    # A good edit keeps focus on the edited line's quantity and says what happened.
    line.get_by_test_id("qty-input").fill("2")
    line.get_by_test_id("update-qty").click()
    expect(page.get_by_test_id("cart-status")).to_contain_text("quantity 2")
    expect(page.get_by_test_id("cart-line").get_by_test_id("qty-input")).to_be_focused()
    assert_accessible(page, "cart after an edit")


def test_a_stock_drop_after_adding_is_flagged_in_the_cart_and_explained_at_checkout_in_words(
        pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    page = pages.new()
    sign_in(page, shop.email("dropper"))
    top_up(page, "EUR", "2000.00")
    add_to_cart(page, product["slug"], qty=2)
    api = _admin_api(pages, shop)
    assert api("PUT", f"/api/admin/products/{product['id']}/stock", data={"stockQty": 1}).ok
    go(page, "#/cart")
    expect(page.get_by_test_id("line-stock-warning")).to_contain_text("Only 1 left")
    page.get_by_test_id("checkout-button").click()
    page.get_by_test_id("checkout-form").wait_for()
    page.get_by_test_id("place-order").click()
    error = page.get_by_test_id("checkout-error")
    expect(error).to_have_attribute("data-reason", "OUT_OF_STOCK")
    text = error.inner_text()
    assert "lines[" not in text and "qty:" not in text and "variantId" not in text, text
    expect(error).to_be_focused()
    assert_accessible(page, "checkout refused for stock")


def test_facets_filter_the_listing_with_counts_and_the_url_keeps_them(page: Page, shop: Shop) -> None:
    open_shop(page, "#/c/clothing")
    values = page.get_by_test_id("facet-value")
    values.first.wait_for()
    first = values.first
    option, value, count = (first.get_attribute("data-option"), first.get_attribute("data-value"),
                            int(first.get_attribute("data-count") or "0"))
    first.click()
    page.wait_for_url(re.compile(rf"o\.{re.escape(option or '')}="))
    expect(page.get_by_test_id("result-count")).to_have_text("1 product" if count == 1 else f"{count} products")
    expected = {p["slug"] for p in _products(shop, category="clothing", **{f"option.{option}": value})}
    expect(page.get_by_test_id("product-card")).to_have_count(min(len(expected), 12))
    for card in page.get_by_test_id("product-card").all():
        assert card.get_attribute("data-slug") in expected
    expect(page.get_by_test_id("clear-filters")).to_be_visible()
    assert_accessible(page, "a filtered category")
    # In stock only, then a reload keeps every filter.
    page.get_by_test_id("in-stock").check()
    page.wait_for_url(re.compile(r"stock=1"))
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("in-stock")).to_be_checked()
    expect(page.locator("[data-testid=facet-value][aria-current=true]")).to_have_count(1)
    page.get_by_test_id("clear-filters").click()
    expect(page.get_by_test_id("clear-filters")).to_have_count(0)


def test_a_price_range_that_is_not_an_amount_is_a_field_error(page: Page) -> None:
    open_shop(page, "#/products?min=abc")
    expect(page.get_by_test_id("listing-error")).to_be_visible()
    expect(page.get_by_test_id("price-filter").locator(".field-error").first).to_contain_text("amount")


def test_display_currency_converts_prices_and_price_sort_never_mixes_currencies(page: Page, shop: Shop) -> None:
    open_shop(page, "#/products?sort=price_asc")
    select = page.get_by_test_id("currency-select")
    expect(select.locator("option[value=USD]")).to_have_count(1)
    select.select_option("USD")
    page.get_by_test_id("product-card").first.wait_for()
    prices = page.get_by_test_id("product-price")
    expect(prices.first).to_have_attribute("data-display-currency", "USD")
    shown = [int(p.get_attribute("data-display-minor") or "-1") for p in prices.all()]
    currencies = {p.get_attribute("data-display-currency") for p in prices.all()}
    assert currencies == {"USD"}, currencies
    assert shown == sorted(shown), shown
    # The server's own conversion is what is shown (the checkout's exact rate).
    api = _products(shop, sort="price_asc", displayCurrency="USD", pageSize=12)
    assert shown == [p["displayPriceMinor"] for p in api]
    # Remembered across pages and reloads.
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("currency-select")).to_have_value("USD")


def test_on_a_phone_the_cart_count_is_visible_without_opening_the_menu(page: Page, shop: Shop) -> None:
    product = shop.take_product()
    page.set_viewport_size(PHONE)
    sign_in(page, shop.email("phoner"))
    go(page, "#/")
    add_to_cart(page, product["slug"], qty=2)
    expect(page.get_by_test_id("nav-toggle")).to_have_attribute("aria-expanded", "false")
    phone = page.get_by_test_id("phone-cart-link")
    expect(phone).to_be_visible()
    expect(phone.get_by_test_id("phone-cart-count")).to_have_text("2")
    expect(phone).to_have_attribute("aria-label", "Cart, 2 items")


def test_a_declined_card_message_is_shown_below_the_sticky_header_with_focus(pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    page = pages.new(PHONE)
    sign_in(page, shop.email("cardholder"))
    add_to_cart(page, product["slug"])
    open_checkout(page)
    review_card_order(page, "EUR")
    pay_in_card_frame(page, "4000 0000 0000 0002")
    message = page.get_by_test_id("pay-error")
    expect(message).to_contain_text("declined")
    expect(message).to_be_focused()
    header_bottom = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().bottom")
    top = page.evaluate("document.querySelector('[data-testid=pay-error]').getBoundingClientRect().top")
    assert top >= header_bottom, f"the message (top {top}) is under the sticky header (bottom {header_bottom})"
    assert_accessible(page, "checkout with a declined card (phone)")


def test_long_queries_wrap_instead_of_widening_the_page(page: Page) -> None:
    page.set_viewport_size(PHONE)
    open_shop(page, "#/products?q=" + "w" * 200)
    page.get_by_test_id("no-results").wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, overflow


def test_sign_in_page_wears_the_shop_header_and_stylesheet(page: Page) -> None:
    open_shop(page)
    header_link(page, "sign-in-link").click()
    page.locator("input[name=action][value=signin]").wait_for(state="attached")
    expect(page.locator("link[rel=stylesheet][href='/assets/css/shop.css']")).to_have_count(1)
    expect(page.get_by_test_id("site-header")).to_be_visible()
    expect(page.get_by_test_id("brand")).to_have_attribute("href", "/#/")
    assert_accessible(page, "the sign-in page")


def test_the_reviews_plugin_mounts_its_rating_and_form_in_the_product_slot(pages: Pages, shop: Shop) -> None:
    manifest = httpx.get(f"{shop.base}/api/storefront/manifest", timeout=10).json()
    assert {"auth", "catalog", "orders", "wallet", "reviews"} <= set(manifest["plugins"])
    assert {"plugin": "reviews", "slot": "product.details", "src": "/plugin-ui/reviews/reviews.js"} in manifest["modules"]

    product = shop.take_product()
    page = pages.new()
    # Anonymous: the rating, no form.
    open_shop(page, f"#/p/{product['slug']}")
    slot = page.get_by_test_id("slot-product-details")
    expect(slot.get_by_test_id("review-summary")).to_have_text("No reviews yet.")
    expect(slot.get_by_test_id("review-form")).to_have_count(0)

    # A buyer (paid order of the product) posts a review; the summary counts it.
    sign_in(page, shop.email("reviewer"))
    top_up(page, "EUR", "500.00")
    add_to_cart(page, product["slug"])
    open_checkout(page)
    page.get_by_test_id("place-order").click()
    placed_order_id(page)
    go(page, f"#/p/{product['slug']}")
    form = page.get_by_test_id("review-form")
    form.get_by_test_id("review-rating").select_option("4")
    form.get_by_test_id("review-body").fill("Sturdy and as pictured.")
    form.get_by_role("button", name="Post review").click()
    expect(page.get_by_test_id("review-message")).to_contain_text("Thank you")
    expect(page.get_by_test_id("review-summary")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("review")).to_contain_text("Sturdy and as pictured.")
    assert_accessible(page, "product page with reviews")

    # Someone who did not buy it is told so, in words.
    other = pages.new()
    sign_in(other, shop.email("stranger"))
    go(other, f"#/p/{product['slug']}")
    other.get_by_test_id("review-form").get_by_role("button", name="Post review").click()
    expect(other.get_by_test_id("review-message")).to_contain_text("Only customers who bought this product")


@pytest.fixture(scope="module")
def catalog_only(servers: dict[str, str], shop: Shop) -> Iterator[LiveShop]:
    """A second shop with orders, wallet and reviews switched off (auth and catalog only)."""
    live = LiveShop(servers["database"], servers["redis"], env_extra={"SHOP_PLUGINS_ENABLED": "auth,catalog"})
    live.create()
    try:
        live.cli("seed", "--demo")
        live.start()
        yield live
    finally:
        live.destroy()


@pytest.fixture(scope="module")
def wallet_only(servers: dict[str, str], shop: Shop) -> Iterator[LiveShop]:
    """A shop without a catalogue (auth and wallet only), and not in demo mode, with one shopper."""
    live = LiveShop(servers["database"], servers["redis"],
                    env_extra={"SHOP_PLUGINS_ENABLED": "auth,wallet", "SHOP_DEMO": "0"})
    live.create()
    try:
        live.cli("users", "create", "--email", "nodemo@shop.test", "--password", PASSWORD, "--name", "No Demo")
        live.start()
        yield live
    finally:
        live.destroy()


def _open(browser: Browser, base: str, route: str, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    context = browser.new_context(base_url=base, viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    page.goto(f"/{route}")
    wait_ready(page)
    return page, errors


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_with_orders_off_the_shop_offers_no_cart_and_no_add_to_cart(
        browser: Browser, catalog_only: LiveShop, viewport: dict[str, int]) -> None:
    page, errors = _open(browser, catalog_only.base, "#/products", viewport)
    try:
        page.get_by_test_id("product-card").first.wait_for()
        expect(page.get_by_test_id("add-to-cart")).to_have_count(0)
        expect(page.get_by_test_id("cart-link")).to_be_hidden()
        expect(page.get_by_test_id("phone-cart-link")).to_be_hidden()
        expect(page.get_by_test_id("currency-select")).to_be_hidden()  # no wallet: no conversion rates
        page.get_by_test_id("product-link").first.click()
        expect(page.get_by_test_id("ordering-off")).to_be_visible()
        expect(page.get_by_test_id("add-to-cart")).to_have_count(0)
        go(page, "#/cart")
        page.get_by_test_id("not-found").wait_for()
        assert_accessible(page, "the not-found page in a shop without orders")
        assert not errors, errors
    finally:
        page.context.close()


def test_with_the_catalog_off_the_home_page_says_so_and_the_wallet_still_works(
        browser: Browser, wallet_only: LiveShop) -> None:
    page, errors = _open(browser, wallet_only.base, "#/", DESKTOP)
    try:
        expect(page.get_by_test_id("home-no-catalog")).to_be_visible()
        expect(page.get_by_test_id("header-search")).to_be_hidden()
        expect(page.locator("[data-nav=products]")).to_be_hidden()
        assert_accessible(page, "the home page without a catalogue")
        # Not a demo: no banner, and no free top-up form (the server would refuse it).
        expect(page.get_by_test_id("demo-banner")).to_have_count(0)
        header_link(page, "sign-in-link").click()
        fill_sign_in_form(page, "nodemo@shop.test")
        go(page, "#/wallet")
        expect(page.get_by_test_id("topup-unavailable")).to_be_visible()
        expect(page.get_by_test_id("topup-form")).to_have_count(0)
        expect(page.get_by_test_id("transfer-form")).to_be_visible()
        expect(page.get_by_test_id("demo-banner")).to_have_count(0)
        assert not errors, errors
    finally:
        page.context.close()


def test_before_the_scripts_arrive_the_page_shows_a_loading_state_not_a_blank_page(page: Page) -> None:
    # The storefront's script never arrives (a very slow or broken connection): what is on screen.
    page.route("**/assets/js/app.js", lambda route: route.abort())
    page.goto("/#/")
    boot = page.get_by_test_id("boot")
    expect(boot).to_be_visible()
    expect(boot).to_contain_text("Loading the shop")
    expect(page.get_by_test_id("site-header")).to_be_visible()


def test_the_admin_sets_one_variants_price_and_stock_in_the_product_editor(pages: Pages, shop: Shop) -> None:
    product = [p for p in _products(shop, category="clothing") if len(p["variants"]) > 2][-1]  # no other test uses it
    variant = product["variants"][1]
    admin = pages.new()
    sign_in(admin, shop.email("admin"), start="#/admin")
    search = admin.get_by_test_id("admin-product-search")
    search.get_by_role("searchbox").fill(product["name"])
    search.get_by_role("button", name="Search").click()
    admin.locator(f"[data-testid=admin-product-row][data-slug='{product['slug']}']").get_by_test_id("edit-product").click()
    rows = admin.get_by_test_id("variant-row")
    expect(rows).to_have_count(len(product["variants"]))
    expect(admin.get_by_test_id("stock-form")).to_have_count(0)  # product-level stock would be HAS_VARIANTS
    row = admin.locator(f"[data-testid=variant-row][data-variant-id='{variant['id']}']")
    row.get_by_test_id("variant-stock").fill("2.5")
    row.get_by_test_id("save-variant").click()
    expect(row.locator(".field-error[data-error-for=stockQty]")).to_contain_text("whole number")
    expect(row.locator(".field-error[data-error-for=price]")).to_be_empty()
    row.get_by_test_id("variant-stock").fill("7")
    row.get_by_test_id("variant-price").fill("12.34")
    row.get_by_test_id("save-variant").click()
    expect(admin.get_by_test_id("variant-result").filter(has_text="Saved")).to_contain_text("7 in stock")
    after = httpx.get(f"{shop.base}/api/products/{product['slug']}", timeout=10).json()
    saved = next(v for v in after["variants"] if v["id"] == variant["id"])
    assert (saved["stockQty"], saved["priceMinor"]) == (7, 1234)
    assert_accessible(admin, "the admin product editor with variants")
