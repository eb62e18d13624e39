"""The owner journey of #21 on Chromium, at desktop and phone widths: a guest buys a variant with shipping
and tax by card (the quoted total shown before paying, the card typed into the provider's frame), the
owner fulfils it with tracking, the guest sees the tracking through the order link, the owner refunds
part, the guest sees the refund. axe-core (0 critical/serious) runs on every state, inside the card frame
too, and each page is photographed into tests/e2e/screenshots/ (journey-*-<desktop|phone>.png).

Also here: the pages added with it (admin shipping and tax settings, forgot and reset password, editing a
saved address), each checked with axe-core and photographed at both widths."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible, assert_frame_accessible
from tests.e2e.harness import DESKTOP, PHONE, SCREENSHOTS, Pages, Shop
from tests.e2e.steps import fill_sign_in_form, go, major, open_shop, pay_in_card_frame, sign_in
from tests.e2e.test_checkout_v2 import COUNTRY, _ship_to_iceland

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def photo(page: Page, name: str, viewport: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} at {viewport} width is {overflow}px wider than the screen"


def _variant_product(shop: Shop, index: int) -> dict:
    r = httpx.get(f"{shop.base}/api/products", params={"pageSize": 100, "category": "clothing"}, timeout=30)
    r.raise_for_status()
    found = [p for p in r.json()["items"] if p["options"] and sum(1 for v in p["variants"] if v["stockQty"] >= 3) >= 2]
    return found[index]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_guest_buys_owner_fulfils_guest_tracks_owner_refunds_part_guest_sees_it(
        pages: Pages, shop: Shop, viewport: str) -> None:
    size = VIEWPORTS[viewport]
    costs = _ship_to_iceland(pages, shop)
    product = _variant_product(shop, -1 if viewport == "desktop" else -2)

    # 1. A guest picks a variant (the second one) and checks out with shipping and tax.
    guest = pages.new(size)
    open_shop(guest, f"#/p/{product['slug']}")
    detail = guest.get_by_test_id("product-detail")
    detail.wait_for()
    picked = next(v for v in product["variants"][1:] if v["stockQty"] >= 3)
    for name, value in picked["options"].items():  # REST: {name: value}
        detail.locator(f"[data-testid=option-select][data-option='{name}']").select_option(value)
    expect(detail.get_by_test_id("variant-sku")).to_contain_text(picked["sku"])
    detail.get_by_test_id("add-to-cart").click()
    expect(guest.get_by_test_id("add-to-cart-message")).to_contain_text("Added")
    go(guest, "#/cart")
    guest.get_by_test_id("checkout-button").click()
    form = guest.get_by_test_id("checkout-form")
    form.wait_for()
    form.get_by_test_id("guest-email").fill(f"journey.{viewport}@example.test")
    form.get_by_test_id("addr-name").fill("Guðrún Journey")
    form.get_by_test_id("addr-line1").fill("Bankastræti 2")
    form.get_by_test_id("addr-city").fill("Reykjavík")
    form.get_by_test_id("addr-postalCode").fill("101")
    form.get_by_test_id("addr-country").fill(COUNTRY)
    form.get_by_test_id("card-currency").select_option("EUR")  # the variant is priced in another currency
    expect(form.get_by_test_id("shipping-option")).to_contain_text("Ferry")
    form.get_by_test_id("addr-city").focus()
    form.get_by_test_id("addr-postalCode").focus()  # leaving a field of the new address asks for the quote
    # The quote: the exact sums before any card is asked for.
    quote = guest.get_by_test_id("checkout-quote")
    expect(quote.get_by_test_id("quote-shipping")).to_contain_text(major(costs["shipping"]))
    expect(quote.get_by_test_id("quote-tax")).to_contain_text("Tax 10%")
    quoted_total = quote.get_by_test_id("quote-total").inner_text().replace("Total to pay", "").strip()
    assert_accessible(guest, f"journey: checkout with the quote ({viewport})")
    photo(guest, "journey-checkout-quote", viewport)
    form.get_by_test_id("place-order").click()

    # 2. The pay step: the same total, the provider's frame (axe inside it too).
    sums = guest.get_by_test_id("quote")
    expect(sums.get_by_test_id("order-sum-total")).to_contain_text(quoted_total)
    expect(guest.get_by_test_id("pay-now")).to_have_text(f"Pay {quoted_total}")
    assert_accessible(guest, f"journey: pay step ({viewport})")
    assert_frame_accessible(guest, f"journey: pay step ({viewport})")
    photo(guest, "journey-pay", viewport)
    pay_in_card_frame(guest, "4242 4242 4242 4242")
    guest.wait_for_url(re.compile(r"#/order-link/[^?]+\?placed=1$"))
    expect(guest.get_by_test_id("order-detail")).to_have_attribute("data-status", "paid")
    link = guest.url.replace("?placed=1", "")
    token = re.search(r"#/order-link/([^?]+)", link).group(1)  # type: ignore[union-attr]
    order = httpx.get(f"{shop.base}/api/guest-orders/{token}", timeout=10).json()
    assert order["taxMinor"] > 0 and order["shippingMinor"] == costs["shipping"]
    assert major(order["totalMinor"]) in quoted_total

    # 3. The owner fulfils it with a tracking number.
    owner = pages.new(size)
    sign_in(owner, shop.email("admin"), start=f"#/admin/orders/{order['id']}")
    admin_detail = owner.get_by_test_id("admin-order-detail")
    expect(admin_detail).to_have_attribute("data-status", "paid")
    assert_accessible(owner, f"journey: owner's order detail ({viewport})")
    photo(owner, "journey-admin-order", viewport)
    tracking_no = f"IS{viewport.upper()}0001"
    fulfil = owner.get_by_test_id("fulfil-form")
    fulfil.get_by_test_id("fulfil-carrier").fill("Pósturinn")
    fulfil.get_by_test_id("fulfil-tracking").fill(tracking_no)
    fulfil.get_by_test_id("fulfil-submit").click()
    expect(admin_detail).to_have_attribute("data-status", "fulfilled")
    assert_accessible(owner, f"journey: owner after fulfilling ({viewport})")

    # 4. The guest sees the tracking through the order link (a fresh load, as from the mail).
    guest.goto(link)
    expect(guest.get_by_test_id("tracking-number")).to_have_text(tracking_no)
    expect(guest.locator("[data-event=fulfilled]")).to_contain_text("Shipped with Pósturinn")
    assert_accessible(guest, f"journey: guest sees tracking ({viewport})")
    photo(guest, "journey-guest-tracking", viewport)

    # 5. The owner refunds part; the guest sees it.
    refund = owner.get_by_test_id("refund-form")
    refund.get_by_test_id("refund-amount").fill("2.00")
    refund.get_by_test_id("refund-reason").fill("Late parcel")
    refund.get_by_test_id("refund-submit").click()
    expect(admin_detail).to_have_attribute("data-status", "partially_refunded")
    assert_accessible(owner, f"journey: owner after the partial refund ({viewport})")
    guest.reload()
    expect(guest.get_by_test_id("order-detail")).to_have_attribute("data-status", "partially_refunded")
    expect(guest.get_by_test_id("order-refunded")).to_contain_text("2.00")
    expect(guest.locator("[data-event=refunded]")).to_contain_text("Late parcel")
    assert_accessible(guest, f"journey: guest sees the refund ({viewport})")
    photo(guest, "journey-guest-refund", viewport)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_owner_sets_up_a_zone_a_method_and_a_tax_rate_on_the_shipping_page(
        pages: Pages, shop: Shop, viewport: str) -> None:
    country = "MT" if viewport == "desktop" else "CY"
    owner = pages.new(VIEWPORTS[viewport])
    sign_in(owner, shop.email("admin"), start="#/admin/shipping")
    zones = owner.get_by_test_id("shipping-zones")
    zones.get_by_test_id("shipping-zone").first.wait_for()
    create = zones.get_by_test_id("zone-form")
    if not create.is_visible():
        zones.locator("summary", has_text="Create a zone").click()
    create.get_by_test_id("zone-name").fill(f"Islands {viewport}")
    create.get_by_test_id("zone-countries-input").fill("xx1")
    create.get_by_test_id("create-zone").click()
    expect(create.locator("[data-error-for=countries]")).to_contain_text("not a two-letter")
    create.get_by_test_id("zone-countries-input").fill(country.lower())
    create.get_by_test_id("create-zone").click()
    expect(owner.get_by_test_id("shipping-status")).to_contain_text(f"Created the zone Islands {viewport}")
    zone = zones.get_by_test_id("shipping-zone").filter(has_text=f"Islands {viewport}")
    expect(zone.get_by_test_id("zone-countries")).to_contain_text(country)
    zone.locator("summary", has_text="Add a method").click()
    method = zone.get_by_test_id("method-form")
    method.get_by_test_id("method-name").fill("Boat")
    method.get_by_test_id("method-prices").fill("EUR 7.5, USD 8")
    method.get_by_test_id("add-method").click()
    expect(zone.get_by_test_id("shipping-method-row")).to_contain_text("Boat")
    expect(zone.get_by_test_id("shipping-method-row")).to_contain_text("7.50")
    rates = owner.get_by_test_id("tax-rates")
    tax = rates.get_by_test_id("tax-form")
    tax.get_by_test_id("rate-country").fill(country)
    tax.get_by_test_id("rate-value").fill("18")
    tax.get_by_test_id("rate-inclusive").check()
    tax.get_by_test_id("save-rate").click()
    row = rates.locator(f"[data-testid=tax-rate-row][data-country={country}]")
    expect(row).to_contain_text("18%")
    expect(row).to_contain_text("Included in prices")
    methods = httpx.get(f"{shop.base}/api/shipping-methods", params={"country": country, "currency": "USD"},
                        timeout=10).json()
    assert [(m["name"], m["priceMinor"]) for m in methods] == [("Boat", 800)]
    assert_accessible(owner, f"admin shipping and tax ({viewport})")
    photo(owner, "admin-shipping", viewport)
    # Removing what was added leaves the shop as it was.
    row.get_by_test_id("delete-rate").click()
    expect(rates.locator(f"[data-testid=tax-rate-row][data-country={country}]")).to_have_count(0)
    owner.once("dialog", lambda d: d.accept())
    zone.get_by_test_id("delete-zone").click()
    expect(zones.get_by_test_id("shipping-zone").filter(has_text=f"Islands {viewport}")).to_have_count(0)


async def _plant_reset_token(db_url: str, email: str) -> str:
    """What the mail would carry (the live shop sends no mail): a token whose hash is a pending reset."""
    token = secrets.token_urlsafe(32)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "INSERT INTO auth_password_reset (user_id, token_hash, expires_at) "
            "SELECT id, $2, now() + interval '30 minutes' FROM auth_user WHERE email = $1",
            email, hashlib.sha256(token.encode()).hexdigest())
    finally:
        await conn.close()
    return token


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_forgot_password_from_the_sign_in_page_then_a_new_password_from_the_mailed_link(
        pages: Pages, shop: Shop, viewport: str) -> None:
    # Their own shoppers: the reset changes the password other flows sign in with.
    who = "forgetter" if viewport == "desktop" else "phoneforgetter"
    email = shop.email(who)
    page = pages.new(VIEWPORTS[viewport])
    open_shop(page, "#/account")
    page.get_by_test_id("sign-in-prompt-link").click()
    page.get_by_test_id("forgot-password-link").click()
    page.wait_for_url(re.compile(r"#/forgot-password$"))
    page.get_by_test_id("forgot-form").wait_for()
    page.get_by_test_id("send-reset").click()
    expect(page.locator("[data-error-for=email]")).to_contain_text("Enter your email")
    page.get_by_test_id("forgot-email").fill(email)
    page.get_by_test_id("send-reset").click()
    expect(page.get_by_test_id("forgot-result")).to_contain_text(f"If {email} has an account here")
    assert_accessible(page, f"forgot password ({viewport})")
    photo(page, "forgot-password", viewport)

    # (In a thread: Playwright's sync driver keeps an event loop running on this one.)
    with ThreadPoolExecutor(max_workers=1) as pool:
        token = pool.submit(asyncio.run, _plant_reset_token(shop.live.db_url, email)).result()
    page.goto(f"/#/reset-password?token={token}")
    page.get_by_test_id("reset-form").wait_for()
    page.get_by_test_id("reset-password-input").fill("a-brand-new-secret")
    page.get_by_test_id("reset-password-again").fill("a-different-secret")
    page.get_by_test_id("save-new-password").click()
    expect(page.locator("[data-error-for=again]")).to_contain_text("differ")
    assert_accessible(page, f"reset password ({viewport})")
    photo(page, "reset-password", viewport)
    page.get_by_test_id("reset-password-again").fill("a-brand-new-secret")
    page.get_by_test_id("save-new-password").click()
    expect(page.get_by_test_id("reset-result")).to_contain_text("Your password is changed")
    # The link works once.
    go(page, "#/")
    go(page, f"#/reset-password?token={token}")
    page.get_by_test_id("reset-password-input").fill("yet-another-secret")
    page.get_by_test_id("reset-password-again").fill("yet-another-secret")
    page.get_by_test_id("save-new-password").click()
    expect(page.get_by_test_id("reset-ask-again")).to_be_visible()
    # The new password signs in.
    page.get_by_test_id("reset-ask-again").click()
    open_shop(page, "#/account")
    page.get_by_test_id("sign-in-prompt-link").click()
    fill_sign_in_form(page, email, "a-brand-new-secret")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_saved_address_is_edited_in_the_account_page(pages: Pages, shop: Shop, viewport: str) -> None:
    page = pages.new(VIEWPORTS[viewport])
    sign_in(page, shop.email("visitor" if viewport == "desktop" else "spender"), start="#/account")
    section = page.get_by_test_id("addresses")
    form = section.get_by_test_id("address-form")
    if not form.is_visible():
        section.locator("summary", has_text="Add an address").click()
    form.get_by_test_id("acct-name").fill(f"Edit Me {viewport}")
    form.get_by_test_id("acct-line1").fill("Old Street 1")
    form.get_by_test_id("acct-city").fill("Oldtown")
    form.get_by_test_id("acct-country").fill("DE")
    form.get_by_test_id("add-address").click()
    row = section.get_by_test_id("saved-address").filter(has_text=f"Edit Me {viewport}")
    expect(row).to_have_count(1)
    row.get_by_test_id("edit-address").click()
    edit = row.get_by_test_id("edit-address-form")
    expect(edit.locator("input[name=city]")).to_have_value("Oldtown")
    edit.locator("input[name=city]").fill("")
    edit.get_by_test_id("save-edited-address").click()
    expect(edit.locator("[data-error-for=city]")).to_contain_text("Enter the city")
    edit.locator("input[name=city]").fill("Newtown")
    edit.locator("input[name=line1]").fill("New Street 2")
    assert_accessible(page, f"editing a saved address ({viewport})")
    photo(page, "account-address-edit", viewport)
    edit.get_by_test_id("save-edited-address").click()
    expect(section.get_by_test_id("addresses-status")).to_contain_text("Saved the changes")
    row = section.get_by_test_id("saved-address").filter(has_text=f"Edit Me {viewport}")
    expect(row).to_contain_text("Newtown")
    expect(row).to_contain_text("New Street 2")
    row.get_by_test_id("delete-address").click()
    expect(section.get_by_test_id("saved-address").filter(has_text=f"Edit Me {viewport}")).to_have_count(0)
