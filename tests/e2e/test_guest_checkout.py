"""The proof journey of checkout v2: an anonymous visitor buys a variant, with shipping and tax, by
card through the provider's frame, and sees the order through its signed link; a guest cart is merged
into the account's on sign-in. axe-core checks each state."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.harness import DESKTOP, PHONE, Pages, Shop
from tests.e2e.steps import add_to_cart, fill_sign_in_form, go, header_link, major, open_shop, pay_in_card_frame
from tests.e2e.test_checkout_v2 import COUNTRY, _ship_to_iceland


def _variant_product(shop: Shop) -> dict:
    r = httpx.get(f"{shop.base}/api/products", params={"pageSize": 100, "category": "clothing"}, timeout=30)
    r.raise_for_status()
    return next(p for p in r.json()["items"]
                if p["options"] and sum(1 for v in p["variants"] if v["stockQty"] >= 3) >= 2)


def test_a_guest_buys_a_variant_with_shipping_and_tax_by_card_and_opens_the_order_by_its_link(
        pages: Pages, shop: Shop) -> None:
    costs = _ship_to_iceland(pages, shop)
    product = _variant_product(shop)
    page = pages.new(PHONE)
    open_shop(page, f"#/p/{product['slug']}")
    detail = page.get_by_test_id("product-detail")
    detail.wait_for()
    sku = page.get_by_test_id("variant-sku").inner_text()
    detail.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("add-to-cart-message")).to_contain_text("Added")
    go(page, "#/cart")
    page.get_by_test_id("checkout-button").click()
    form = page.get_by_test_id("checkout-form")
    form.wait_for()
    expect(form.get_by_test_id("pay-wallet")).to_have_count(0)  # guests pay by card
    form.get_by_test_id("guest-email").fill("guest.buyer@example.test")
    form.get_by_test_id("addr-name").fill("Guest Buyer")
    form.get_by_test_id("addr-line1").fill("Skólavörðustígur 5")
    form.get_by_test_id("addr-city").fill("Reykjavík")
    form.get_by_test_id("addr-country").fill(COUNTRY)
    expect(form.get_by_test_id("shipping-option")).to_contain_text("Ferry")
    form.get_by_test_id("card-currency").select_option("EUR")
    assert_accessible(page, "guest checkout (phone)")
    form.get_by_test_id("place-order").click()

    quote = page.get_by_test_id("quote")
    expect(quote.get_by_test_id("order-shipping")).to_contain_text(major(costs["shipping"]))
    expect(quote.get_by_test_id("order-tax")).to_be_visible()
    total = quote.get_by_test_id("order-sum-total").inner_text().replace("Total", "").strip()
    expect(page.get_by_test_id("pay-now")).to_have_text(f"Pay {total}")
    assert page.locator("input[autocomplete=cc-number]").count() == 0
    assert_accessible(page, "guest: the exact total and the card frame (phone)")
    pay_in_card_frame(page, "4242 4242 4242 4242")

    page.wait_for_url(re.compile(r"#/order-link/[^?]+\?placed=1$"))
    detail = page.get_by_test_id("order-detail")
    expect(detail).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("order-sum-total")).to_contain_text(total)
    expect(page.get_by_test_id("order-tax")).to_be_visible()
    expect(page.get_by_test_id("order-address")).to_contain_text("Reykjavík")
    expect(page.get_by_test_id("order-payment")).to_contain_text("4242")
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", "0")
    assert_accessible(page, "guest order page by its signed link (phone)")
    assert sku  # the variant's SKU was shown when it was picked
    # The link works in a fresh browser (no cookie): it is the guest's way back.
    link = page.url
    other = pages.new(DESKTOP)
    other.goto(link)
    expect(other.get_by_test_id("order-detail")).to_have_attribute("data-status", "paid")
    # An altered link opens nothing.
    other.goto(link.replace("?placed=1", "").rstrip("/")[:-3] + "AAA")
    expect(other.get_by_test_id("order-error").or_(other.get_by_test_id("order-not-found"))).to_be_visible()


def test_signing_in_merges_the_guest_cart(pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    page = pages.new(DESKTOP)
    open_shop(page)
    add_to_cart(page, product["slug"])  # as a guest: the header count moved to 1
    go(page, "#/cart")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    assert_accessible(page, "a guest's cart")
    header_link(page, "sign-in-link").click()
    fill_sign_in_form(page, shop.email("guestmerger"))
    expect(page).to_have_url(re.compile(r"#/cart$"))
    expect(page.get_by_test_id("cart-count")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-line")).to_contain_text(product["name"])
