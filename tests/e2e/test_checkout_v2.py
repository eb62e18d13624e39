"""Checkout v2 on Chromium: address book, shipping method, tax, the exact total before paying, and a
card paid through the provider's frame (the shop's page holds no card-number input), including the
card that asks for an extra step (requires_action). axe-core checks each state."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.harness import DESKTOP, PHONE, Pages, Shop
from tests.e2e.steps import (
    add_to_cart,
    major,
    open_checkout,
    pay_in_card_frame,
    placed_order_id,
    session_api,
    sign_in,
)

COUNTRY = "IS"  # a country no other test ships to: its zone, method and tax rate are this test's own


def _ship_to_iceland(pages: Pages, shop: Shop) -> dict[str, int]:
    admin = pages.new(DESKTOP)
    sign_in(admin, shop.email("admin"))
    api = session_api(admin)
    zones = api("GET", "/api/admin/shipping-zones").json()
    zone = next((z for z in (zones if isinstance(zones, list) else zones.get("items", []))
                 if COUNTRY in z["countries"]), None)
    if zone is None:
        r = api("POST", "/api/admin/shipping-zones", data={"name": "Iceland", "countries": [COUNTRY]})
        assert r.status == 201, r.text()
        zone = r.json()
        r = api("POST", f"/api/admin/shipping-zones/{zone['id']}/methods",
                data={"name": "Ferry", "prices": [{"currency": "EUR", "priceMinor": 1250}]})
        assert r.status == 201, r.text()
    r = api("PUT", f"/api/admin/tax-rates/{COUNTRY}", data={"rate": "10", "inclusive": False})
    assert r.ok, r.text()
    admin.close()
    return {"shipping": 1250}


def test_checkout_with_a_new_saved_address_shipping_and_tax_shows_the_total_then_pays_a_3ds_card(
        pages: Pages, shop: Shop) -> None:
    costs = _ship_to_iceland(pages, shop)
    product = shop.take_product()
    page = pages.new(DESKTOP)
    sign_in(page, shop.email("addressbook"))
    add_to_cart(page, product["slug"])
    open_checkout(page)
    form = page.get_by_test_id("checkout-form")
    # No saved address yet: the inline form, saved to the address book on the way.
    form.get_by_test_id("addr-name").fill("Sigrún Jónsdóttir")
    form.get_by_test_id("addr-line1").fill("Laugavegur 1")
    form.get_by_test_id("addr-city").fill("Reykjavík")
    form.get_by_test_id("addr-postalCode").fill("101")
    form.get_by_test_id("addr-country").fill(COUNTRY)
    option = form.get_by_test_id("shipping-option")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Ferry")
    expect(option).to_contain_text(major(costs["shipping"]))
    form.get_by_test_id("pay-card").check()
    form.get_by_test_id("card-currency").select_option("EUR")
    assert_accessible(page, "checkout step 1 (address, shipping, payment)")
    # The page has no input of its own for the card number: only the provider's frame will.
    assert page.locator("input[autocomplete=cc-number]").count() == 0
    form.get_by_test_id("place-order").click()

    quote = page.get_by_test_id("quote")
    expect(quote).to_be_visible()
    subtotal = int(page.request.get(f"/api/products/{product['slug']}").json()["price"]["amountMinor"]) \
        if isinstance(page.request.get(f"/api/products/{product['slug']}").json().get("price"), dict) else None
    expect(quote.get_by_test_id("order-shipping")).to_contain_text(major(costs["shipping"]))
    expect(quote.get_by_test_id("order-tax")).to_be_visible()
    total_text = quote.get_by_test_id("order-sum-total").inner_text()
    expect(page.get_by_test_id("pay-now")).to_contain_text(total_text.replace("Total", "").strip())
    assert page.locator("main input[autocomplete=cc-number]").count() == 0
    expect(page.frame_locator("[data-testid=card-frame]").get_by_label("Card number")).to_be_visible()
    assert_accessible(page, "checkout step 2 (the exact total and the card frame)")

    pay_in_card_frame(page, "4000 0025 0000 3155")  # asks for an extra step, then succeeds
    order_id = placed_order_id(page)
    order = page.request.get(f"/api/orders/{order_id}").json()
    assert order["status"] == "paid"
    assert order["cardLast4"] == "3155"
    assert order["shippingMinor"] == costs["shipping"]
    # 10 % exclusive tax on items and shipping.
    assert order["taxMinor"] > 0
    assert order["totalMinor"] == order["subtotalMinor"] + order["shippingMinor"] + order["taxMinor"]
    if subtotal is not None:
        assert order["subtotalMinor"] == subtotal
    assert order["shippingAddress"]["city"] == "Reykjavík"
    expect(page.get_by_test_id("order-sum-total")).to_contain_text(major(order["totalMinor"]))
    assert_accessible(page, "order placed by card with shipping and tax")

    # The address was saved: the next checkout offers it.
    saved = page.request.get("/api/me/addresses").json()
    items = saved if isinstance(saved, list) else saved.get("items", [])
    assert [a["city"] for a in items] == ["Reykjavík"]
    add_to_cart(page, shop.take_product()["slug"])
    open_checkout(page)
    expect(page.get_by_test_id("address-option")).to_have_count(1)
    expect(page.get_by_test_id("address-option").locator("input")).to_be_checked()
    expect(page.get_by_test_id("new-address")).to_be_hidden()
    expect(page.get_by_test_id("shipping-option")).to_have_count(1)


def test_the_order_items_table_fits_a_phone(pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    page = pages.new(PHONE)
    sign_in(page, shop.email("phonebuyer"))
    add_to_cart(page, product["slug"])
    open_checkout(page)
    page.get_by_test_id("pay-card").check()
    page.get_by_test_id("place-order").click()
    pay_in_card_frame(page, "4242 4242 4242 4242")
    placed_order_id(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the order page scrolls sideways by {overflow}px on a phone"
    table = page.locator("[data-testid=order-detail] table")
    box = table.bounding_box()
    panel = page.get_by_test_id("order-detail").bounding_box()
    assert box and panel and box["x"] + box["width"] <= panel["x"] + panel["width"] + 1


def test_the_account_page_lists_adds_and_deletes_addresses(pages: Pages, shop: Shop) -> None:
    page = pages.new(PHONE)
    sign_in(page, shop.email("phonebuyer"), start="#/account")
    section = page.get_by_test_id("addresses")
    expect(section.get_by_test_id("address-form")).to_be_visible()
    before = section.get_by_test_id("saved-address").count()
    form = section.get_by_test_id("address-form")
    form.get_by_test_id("add-address").click()  # empty: the page says what is missing
    expect(form.locator("[data-error-for=name]")).not_to_be_empty()
    form.get_by_test_id("acct-name").fill("Jón Account")
    form.get_by_test_id("acct-line1").fill("Hafnarstræti 9")
    form.get_by_test_id("acct-city").fill("Akureyri")
    form.get_by_test_id("acct-country").fill("is")
    form.get_by_test_id("add-address").click()
    rows = section.get_by_test_id("saved-address")
    expect(rows).to_have_count(before + 1)
    expect(section.get_by_test_id("addresses-status")).to_contain_text("Saved")
    assert_accessible(page, "account addresses (phone)")
    row = rows.filter(has_text="Akureyri")
    expect(row).to_contain_text("IS")
    row.get_by_test_id("delete-address").click()
    expect(section.get_by_test_id("saved-address")).to_have_count(before)
    expect(section.get_by_test_id("addresses-status")).to_contain_text("Deleted")
    api_list = page.request.get("/api/me/addresses").json()
    cities = [a["city"] for a in (api_list if isinstance(api_list, list) else api_list.get("items", []))]
    assert "Akureyri" not in cities
