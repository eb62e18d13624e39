"""Accounts in the browser: sign up, sign in and out, the admin area's guard, an expired session."""

from __future__ import annotations

import re
import uuid

import redis
from playwright.sync_api import Page, expect

from tests.e2e.harness import Pages, Shop
from tests.e2e.steps import fill_sign_in_form, go, open_shop, open_wallet, session_api, sign_in
from tests.support.live import PASSWORD, USER_SCOPES, obtain_token


def test_sign_up_from_the_sign_in_link_creates_the_account_and_signs_in(page: Page) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@shop.test"
    open_shop(page, "#/products")
    page.get_by_test_id("sign-in-link").click()
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Name").fill("Nora New")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # Back on the page the shopper started from, signed in as the new account.
    page.wait_for_url(re.compile(r"/#/products$"))
    expect(page.get_by_test_id("user-name")).to_have_text("Nora New")
    expect(page.get_by_test_id("user-name")).to_have_attribute("title", email)
    expect(page.get_by_test_id("orders-link")).to_be_visible()
    expect(page.get_by_test_id("wallet-link")).to_be_visible()
    expect(page.get_by_test_id("sign-in-link")).to_have_count(0)
    # The account is real: it can pay (an empty wallet list, not a sign-in prompt).
    open_wallet(page)
    expect(page.get_by_test_id("no-wallets")).to_be_visible()


def test_sign_up_with_a_short_password_is_refused_on_the_form(page: Page) -> None:
    open_shop(page)
    page.get_by_test_id("sign-up-link").click()
    page.get_by_label("Email").fill(f"short-{uuid.uuid4().hex[:8]}@shop.test")
    page.get_by_label("Password").fill("short")
    # Skip the browser's own minlength check: the server must refuse it too.
    page.locator("form").evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("8")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()


def test_sign_in_returns_to_the_shop_signed_in_and_sign_out_signs_out(page: Page, shop: Shop) -> None:
    sign_in(page, shop.email("plain"), start="#/cart")
    assert page.url.endswith("/#/cart")
    expect(page.get_by_test_id("user-name")).to_have_text("Plain")
    expect(page.get_by_test_id("orders-link")).to_be_visible()
    expect(page.get_by_test_id("admin-link")).to_be_hidden()
    # The cart page is the signed-in one now (not the sign-in invitation).
    expect(page.get_by_test_id("cart-empty")).to_be_visible()

    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in-link")).to_be_visible()
    expect(page.get_by_test_id("orders-link")).to_be_hidden()
    assert page.request.get("/auth/session").json()["authenticated"] is False


def test_sign_in_with_a_wrong_password_shows_an_error_and_stays_signed_out(page: Page, shop: Shop) -> None:
    open_shop(page)
    page.get_by_test_id("sign-in-link").click()
    page.get_by_label("Email").fill(shop.email("plain"))
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.request.get("/auth/session").json()["authenticated"] is False


def test_shopper_sees_no_admin_link_and_admin_page_and_api_refuse(page: Page, shop: Shop) -> None:
    sign_in(page, shop.email("plain"))
    expect(page.get_by_test_id("admin-link")).to_be_hidden()

    go(page, "#/admin")
    denied = page.get_by_test_id("admin-denied")
    expect(denied).to_contain_text("Admins only")
    expect(denied).to_contain_text("for shop administrators")
    expect(page.get_by_test_id("admin-product-table")).to_have_count(0)

    # The server enforces it too: with the browser's session ...
    product = shop.products[-1]
    api = session_api(page)
    r = api("PUT", f"/api/admin/products/{product['id']}/price", data={"priceMinor": 1, "currency": "EUR"})
    assert r.status == 403, r.text()
    r = api("POST", "/api/admin/categories", data={"slug": "sneaky", "name": "Sneaky"})
    assert r.status == 403, r.text()
    # ... and with a bearer token that asked for the admin scope (the server grants less).
    token = obtain_token(shop.base, shop.email("plain"), scope=USER_SCOPES + " admin")["access_token"]
    r = page.request.put(f"/api/admin/products/{product['id']}/price", data={"priceMinor": 1, "currency": "EUR"},
                         headers={"Authorization": f"Bearer {token}"})
    assert r.status == 403, r.text()
    # Nothing changed.
    assert page.request.get(f"/api/products/{product['slug']}").json()["priceMinor"] == product["priceMinor"]


def test_expired_session_says_sign_in_again_instead_of_failing_silently(pages: Pages, shop: Shop,
                                                                          servers: dict[str, str]) -> None:
    page = pages.new()
    sign_in(page, shop.email("expiring"))
    open_wallet(page)

    # The server forgets the session (as when it expires in Redis); the page still believes it is signed in.
    cookie = next(c for c in page.context.cookies() if c["name"] == "shop_session")
    r = redis.Redis.from_url(servers["redis"])
    try:
        assert r.delete(f"shop_session_{cookie['value']}") == 1
    finally:
        r.close()

    form = page.get_by_test_id("topup-form")
    form.get_by_test_id("topup-currency").select_option("EUR")
    form.get_by_test_id("topup-amount").fill("5.00")
    form.get_by_role("button", name="Top up").click()
    result = page.get_by_test_id("topup-error")
    expect(result).to_have_attribute("data-code", "UNAUTHENTICATED")
    expect(result).to_have_text(re.compile(r"Your session expired, sign in again\."))
    expect(page.get_by_test_id("sign-in-again")).to_be_visible()
    # The header follows: signed out.
    expect(page.get_by_test_id("sign-in-link")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_count(0)

    # The link signs in again and comes back to the wallet, where the top-up now works.
    page.get_by_test_id("sign-in-again").click()
    fill_sign_in_form(page, shop.email("expiring"))
    assert page.url.endswith("/#/wallet")
    page.get_by_test_id("topup-form").wait_for()
    expect(page.get_by_test_id("no-wallets")).to_be_visible()  # the failed top-up really did not happen


def test_signing_out_in_another_tab_makes_the_next_action_ask_to_sign_in(pages: Pages, shop: Shop) -> None:
    page = pages.new()
    product = shop.take_product()
    sign_in(page, shop.email("expiring"), start=f"#/p/{product['slug']}")
    page.get_by_test_id("product-detail").wait_for()

    other = page.context.new_page()
    other.goto("/")
    other.locator("html[data-ready=true]").wait_for(state="attached")
    other.get_by_test_id("sign-out").click()
    expect(other.get_by_test_id("sign-in-link")).to_be_visible()

    page.get_by_test_id("add-to-cart").click()
    message = page.get_by_test_id("add-to-cart-message")
    expect(message).to_have_attribute("data-code", "UNAUTHENTICATED")
    expect(message).to_contain_text("Your session expired, sign in again.")
    expect(page.get_by_test_id("sign-in-link")).to_be_visible()
