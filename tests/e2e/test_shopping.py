"""Shopping in the browser: browse, search, cart, wallet and card checkout, cancel and refund, transfers,
and an admin's price change reaching shoppers at once."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.harness import Pages, Shop
from tests.e2e.steps import (
    add_to_cart,
    balance,
    go,
    major,
    open_checkout,
    open_shop,
    open_wallet,
    pay_in_card_frame,
    placed_order_id,
    review_card_order,
    sign_in,
    top_up,
)
from tests.support.live import obtain_token


def card_slugs(page: Page) -> list[str]:
    cards = page.get_by_test_id("product-card")
    return [cards.nth(i).get_attribute("data-slug") or "" for i in range(cards.count())]


def test_browsing_a_category_shows_its_products_and_count(page: Page, shop: Shop) -> None:
    open_shop(page)
    page.locator("[data-testid=category-link][data-slug=kitchen]").click()
    page.wait_for_url(re.compile(r"#/c/kitchen$"))
    expect(page.get_by_test_id("listing-title")).to_have_text("Kitchen")
    grid = page.get_by_test_id("product-list")
    expect(grid).not_to_have_attribute("aria-busy", "true")

    expected = httpx.get(f"{shop.base}/api/products", params={"category": "kitchen", "pageSize": 12}).json()
    assert expected["total"] > 12, "the demo catalogue has more than a page of kitchen products"
    expect(page.get_by_test_id("result-count")).to_have_text(f"{expected['total']} products")
    assert card_slugs(page) == [p["slug"] for p in expected["items"]]

    # The next page holds the next products, and the URL says so (reload and links keep it).
    page.get_by_test_id("pager-next").click()
    page.wait_for_url(re.compile(r"#/c/kitchen\?page=2$"))
    expect(page.get_by_test_id("pager-status")).to_contain_text("Page 2 of")
    second = httpx.get(f"{shop.base}/api/products", params={"category": "kitchen", "pageSize": 12, "page": 2}).json()
    expect(page.get_by_test_id("product-card").first).to_have_attribute("data-slug", second["items"][0]["slug"])
    assert card_slugs(page) == [p["slug"] for p in second["items"]]


def test_search_from_the_header_lists_only_matching_products(page: Page) -> None:
    open_shop(page)
    page.get_by_role("search").first.get_by_role("searchbox").fill("teapot")
    page.get_by_role("search").first.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"#/products\?q=teapot$"))
    expect(page.get_by_test_id("listing-title")).to_have_text("Results for “teapot”")
    expect(page.get_by_test_id("product-list")).not_to_have_attribute("aria-busy", "true")
    names = page.get_by_test_id("product-link").all_inner_texts()
    assert names, "the demo catalogue sells teapots"
    assert all("teapot" in n.lower() for n in names), names

    # The listing's own search box refines; nothing found is said plainly.
    page.get_by_test_id("search-input").fill("zzzznotathing")
    page.get_by_test_id("listing-search").get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("no-results")).to_contain_text("Nothing matches “zzzznotathing”")
    expect(page.get_by_test_id("result-count")).to_have_text("0 products")


def test_add_to_cart_updates_the_count_and_the_cart_page(page: Page, shop: Shop) -> None:
    first, second = shop.take_product(), shop.take_product()
    sign_in(page, shop.email("searcher"))
    add_to_cart(page, first["slug"], qty=2)
    add_to_cart(page, second["slug"])
    expect(page.get_by_test_id("cart-count")).to_have_text("3")

    go(page, "#/cart")
    lines = page.get_by_test_id("cart-line")
    expect(lines).to_have_count(2)
    total = first["priceMinor"] * 2 + second["priceMinor"]
    expect(page.locator("[data-testid=cart-total][data-currency=EUR]")).to_contain_text(major(total))

    # Change a quantity and remove a line: the totals and the header follow.
    line = page.locator(f"[data-testid=cart-line][data-slug='{first['slug']}']")
    line.get_by_test_id("qty-input").fill("1")
    line.get_by_test_id("update-qty").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("2")
    expect(page.locator("[data-testid=cart-total][data-currency=EUR]")).to_contain_text(
        major(first["priceMinor"] + second["priceMinor"]))
    page.locator(f"[data-testid=cart-line][data-slug='{second['slug']}']").get_by_test_id("remove-line").click()
    expect(lines).to_have_count(1)
    expect(page.get_by_test_id("cart-count")).to_have_text("1")

    # The cart is the server's: a fresh load shows the same.
    page.reload()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)


def test_wallet_checkout_order_history_and_cancel_with_refund(page: Page, shop: Shop) -> None:
    product = shop.take_product()
    price = product["priceMinor"]
    sign_in(page, shop.email("buyer"))

    # Top up through the wallet page.
    top_up(page, "EUR", "1000.00")
    assert balance(page, "EUR") == 100_000
    expect(page.locator("[data-testid=transaction-row][data-kind=topup]")).to_have_count(1)

    # Buy one item with the wallet.
    add_to_cart(page, product["slug"])
    open_checkout(page)
    expect(page.get_by_test_id("pay-wallet")).to_be_checked()
    page.get_by_test_id("wallet-currency").select_option("EUR")
    page.get_by_test_id("place-order").click()
    order_id = placed_order_id(page)
    expect(page.get_by_test_id("order-confirmation")).to_contain_text("Thank you for your order")
    expect(page.get_by_test_id("order-detail")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("order-total")).to_contain_text(major(price))
    expect(page.get_by_test_id("cart-count")).to_have_text("0")

    # The wallet paid for it.
    open_wallet(page)
    assert balance(page, "EUR") == 100_000 - price
    expect(page.locator("[data-testid=transaction-row][data-kind=payment]")).to_have_count(1)

    # The order is in the history, newest first.
    go(page, "#/orders")
    row = page.locator(f"[data-testid=order-row][data-order-id='{order_id}']")
    expect(row).to_have_attribute("data-status", "paid")
    expect(row).to_contain_text(product["name"])
    expect(page.get_by_test_id("order-row").first).to_have_attribute("data-order-id", order_id)

    # Cancel it from the detail page (a two-step button) and see the refund.
    row.get_by_test_id("order-link").click()
    page.wait_for_url(re.compile(rf"#/orders/{order_id}$"))
    cancel = page.get_by_test_id("cancel-order")
    cancel.click()
    expect(cancel).to_have_text("Confirm cancellation")
    cancel.click()
    expect(page.get_by_test_id("cancel-result")).to_contain_text("Order cancelled")
    expect(page.get_by_test_id("order-detail")).to_have_attribute("data-status", "refunded")
    expect(page.get_by_test_id("order-detail").get_by_test_id("order-status")).to_have_text("refunded")
    expect(page.get_by_test_id("cancel-order")).to_have_count(0)

    open_wallet(page)
    assert balance(page, "EUR") == 100_000
    expect(page.locator("[data-testid=transaction-row][data-kind=refund]")).to_have_count(1)
    go(page, "#/orders")
    expect(page.locator(f"[data-testid=order-row][data-order-id='{order_id}']")).to_have_attribute(
        "data-status", "refunded")
    # The stock came back as well.
    assert page.request.get(f"/api/products/{product['slug']}").json()["stockQty"] == product["stockQty"]


def test_checkout_with_a_declined_card_shows_the_decline_and_another_card_pays(page: Page, shop: Shop) -> None:
    product = shop.take_product()
    sign_in(page, shop.email("decliner"))
    add_to_cart(page, product["slug"])
    open_checkout(page)
    page.get_by_test_id("pay-card").check()
    expect(page.get_by_test_id("test-cards")).to_be_visible()
    review_card_order(page, "EUR")
    pay_in_card_frame(page, "4000 0000 0000 0002")

    error = page.get_by_test_id("pay-error")
    expect(error).to_have_attribute("data-reason", "CARD_DECLINED")
    expect(error).to_contain_text("Your card was declined")
    assert page.url.endswith("#/checkout")
    # The order waits for payment (stock held): another card pays the same order.
    pay_in_card_frame(page, "4242 4242 4242 4242")
    order_id = placed_order_id(page)
    order = page.request.get(f"/api/orders/{order_id}").json()
    assert order["status"] == "paid" and order["cardLast4"] == "4242"


def test_transfer_to_another_shopper_moves_the_money_to_their_wallet(pages: Pages, shop: Shop) -> None:
    recipient = shop.email("recipient")
    page = pages.new()
    sign_in(page, shop.email("sender"))
    top_up(page, "EUR", "50.00")

    form = page.get_by_test_id("transfer-form")
    form.get_by_test_id("transfer-email").fill(recipient)
    form.get_by_test_id("transfer-currency").select_option("EUR")
    form.get_by_test_id("transfer-amount").fill("12.50")
    form.get_by_test_id("transfer-memo").fill("Lunch money")
    form.get_by_role("button", name="Send").click()
    result = page.get_by_test_id("transfer-error")
    expect(result).to_have_attribute("role", "status")
    expect(result).to_contain_text(f"Sent €12.50 to {recipient}")
    expect(page.locator("[data-testid=wallet-balance][data-currency=EUR]")).to_have_attribute(
        "data-balance-minor", "3750")

    # The recipient's balance grew: through the API ...
    token = obtain_token(shop.base, recipient)["access_token"]
    wallets = httpx.get(f"{shop.base}/api/wallets", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    eur = [w for w in (wallets["items"] if isinstance(wallets, dict) else wallets) if w["currency"] == "EUR"]
    assert [w["balanceMinor"] for w in eur] == [1250]
    # ... and in their own browser, with the sender's message.
    other = pages.new()
    sign_in(other, recipient, start="#/wallet")
    assert balance(other, "EUR") == 1250
    received = other.locator("[data-testid=transaction-row][data-kind=transfer_in]")
    expect(received).to_have_count(1)
    expect(received).to_contain_text("Lunch money")


def test_transfer_to_an_unknown_email_is_refused_and_moves_nothing(page: Page, shop: Shop) -> None:
    sign_in(page, shop.email("sender"))
    open_wallet(page)
    before = balance(page, "EUR") if page.locator("[data-testid=wallet-balance][data-currency=EUR]").count() else 0
    form = page.get_by_test_id("transfer-form")
    form.get_by_test_id("transfer-email").fill("nobody-here@shop.test")
    form.get_by_test_id("transfer-currency").select_option("EUR")
    form.get_by_test_id("transfer-amount").fill("1.00")
    form.get_by_role("button", name="Send").click()
    result = page.get_by_test_id("transfer-error")
    expect(result).to_have_attribute("role", "alert")
    expect(result).not_to_be_empty()
    page.reload()
    page.get_by_test_id("topup-form").wait_for()
    after = balance(page, "EUR") if page.locator("[data-testid=wallet-balance][data-currency=EUR]").count() else 0
    assert after == before


def test_admin_price_change_shows_on_the_product_page_at_once(pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    new_price = product["priceMinor"] + 1234

    shopper = pages.new()
    sign_in(shopper, shop.email("watcher"), start=f"#/p/{product['slug']}")
    expect(shopper.get_by_test_id("product-price")).to_contain_text(major(product["priceMinor"]))

    admin = pages.new()
    sign_in(admin, shop.email("admin"))
    expect(admin.get_by_test_id("admin-link")).to_be_visible()
    admin.get_by_test_id("admin-link").click()
    search = admin.get_by_test_id("admin-product-search")
    search.get_by_role("searchbox").fill(product["name"])
    search.get_by_role("button", name="Search").click()
    row = admin.locator(f"[data-testid=admin-product-row][data-slug='{product['slug']}']")
    row.get_by_test_id("edit-product").click()
    price_form = admin.get_by_test_id("price-form")
    price_form.get_by_test_id("edit-price").fill(major(new_price).replace(",", ""))
    price_form.get_by_role("button", name="Set price").click()
    expect(admin.get_by_test_id("price-form-error")).to_contain_text(f"Price set to €{major(new_price)}")
    expect(row).to_contain_text(major(new_price))

    # The shopper reloads and sees the new price straight away (no stale cache), on the page and in the listing.
    shopper.reload()
    expect(shopper.get_by_test_id("product-price")).to_contain_text(major(new_price))
    go(shopper, f"#/products?q={quote(product['name'].split(',')[0])}")
    card = shopper.locator(f"[data-testid=product-card][data-slug='{product['slug']}']")
    expect(card.get_by_test_id("product-price")).to_contain_text(major(new_price))


def test_a_shopper_picks_a_size_and_colour_and_the_cart_line_names_them(page: Page, shop: Shop) -> None:
    """Catalog v2 in the storefront: the product page offers the variants; the cart keeps one line per variant."""
    listing = httpx.get(f"{shop.base}/api/products", params={"category": "clothing", "inStock": "true",
                                                             "pageSize": 50}).json()
    product = next(p for p in listing["items"]
                   if sum(1 for v in p["variants"] if v["stockQty"] >= 2 and v["currency"] == "EUR") >= 2)
    a, b = [v for v in product["variants"] if v["stockQty"] >= 2][:2]
    sign_in(page, shop.email("sizer"))
    go(page, f"#/p/{product['slug']}")
    detail = page.locator(f"[data-testid=product-detail][data-slug='{product['slug']}']")
    # One picker per option (size, colour, ...), each offering that option's values.
    expect(detail.get_by_test_id("option-select")).to_have_count(len(product["options"]))
    for variant, qty in ((a, 2), (b, 1)):
        for name, value in variant["options"].items():
            detail.locator(f"[data-testid=option-select][data-option='{name}']").select_option(value)
        expect(detail.get_by_test_id("variant-sku")).to_contain_text(variant["sku"])
        expect(detail.get_by_test_id("product-price")).to_contain_text(major(variant["priceMinor"]))
        detail.get_by_test_id("qty-input").fill(str(qty))
        detail.get_by_test_id("add-to-cart").click()
        expect(page.get_by_test_id("add-to-cart-message")).to_contain_text(" / ".join(variant["options"].values()))
    go(page, "#/cart")
    lines = page.get_by_test_id("cart-line")
    expect(lines).to_have_count(2)
    line_a = page.locator(f"[data-testid=cart-line][data-variant-id='{a['id']}']")
    expect(line_a.get_by_test_id("line-options")).to_contain_text(", ".join(f"{k}: {v}" for k, v in a["options"].items()))
    line_a.get_by_test_id("remove-line").click()
    expect(lines).to_have_count(1)
    expect(page.locator(f"[data-testid=cart-line][data-variant-id='{b['id']}']")).to_have_count(1)
