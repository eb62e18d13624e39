"""Owner and account pages of storefront v2: webhooks with their delivery log and redelivery, the low-stock
view with restocking, the account page (name, password), and demo hints.

Real Chromium against the real shop; webhooks go to a real HTTP receiver on 127.0.0.1 that verifies the
Standard Webhooks signature with the secret the page showed. axe-core checks every state reached.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from tests.e2e.a11y import assert_accessible
from tests.e2e.harness import PHONE, Pages, Shop
from tests.e2e.steps import (
    add_to_cart,
    fill_sign_in_form,
    go,
    header_link,
    open_checkout,
    placed_order_id,
    session_api,
    sign_in,
    top_up,
)
from tests.support.live import PASSWORD


class Receiver:
    """Answers each POST with the next planned status (the last one repeats) and keeps what it got."""

    def __init__(self) -> None:
        self.plan: list[int] = [200]
        self.got: list[tuple[dict[str, str], bytes, int]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    status = outer.plan.pop(0) if len(outer.plan) > 1 else outer.plan[0]
                    outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"receiver says %d" % status)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shop"

    def wait_for(self, n: int, timeout: float = 30.0) -> None:
        """Until n requests arrived (the shop's outbox and delivery worker poll about every second)."""
        deadline = time.monotonic() + timeout
        while len(self.got) < n:
            assert time.monotonic() < deadline, f"the receiver got {len(self.got)} of {n} deliveries"
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _admin(pages: Pages, shop: Shop, route: str, viewport: dict[str, int] | None = None) -> Page:
    page = pages.new(viewport)
    sign_in(page, shop.email("admin"), start=route)
    return page


def test_the_admin_adds_a_webhook_sees_its_secret_once_reads_the_log_redelivers_pauses_and_deletes_it(
        pages: Pages, shop: Shop, receiver: Receiver) -> None:
    admin = _admin(pages, shop, "#/admin")
    header_link(admin, "admin-link")
    admin.get_by_test_id("admin-tab-webhooks").click()
    form = admin.get_by_test_id("webhook-form")
    # Nothing chosen: the page says what is missing, next to the fields.
    for box in form.get_by_test_id("webhook-event").all():
        box.uncheck()
    form.get_by_test_id("create-webhook").click()
    expect(form.locator("[data-error-for=url]")).to_contain_text("Enter the URL")
    expect(form.locator("[data-error-for=events]")).to_contain_text("at least one event")
    # A private address is refused by the server unless allowed; here it is (test setting), a bad scheme is not.
    form.get_by_test_id("webhook-url").fill("ftp://files.example/hook")
    form.get_by_label("product.updated").check()
    form.get_by_test_id("create-webhook").click()
    expect(form.locator("[data-error-for=url]")).not_to_be_empty()
    form.get_by_test_id("webhook-url").fill(receiver.url)
    form.get_by_test_id("create-webhook").click()

    secret_box = admin.get_by_test_id("webhook-secret-box")
    expect(secret_box).to_be_focused()
    secret = admin.get_by_test_id("webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    row = admin.get_by_test_id("webhook-row").filter(has_text=receiver.url)
    expect(row.get_by_test_id("webhook-state")).to_have_text("Active")
    assert_accessible(admin, "the webhooks page with a new endpoint's secret")
    webhook_id = row.get_attribute("data-webhook-id")
    assert webhook_id
    # The list never shows the secret again.
    admin.reload()
    admin.get_by_test_id("webhook-table").wait_for()
    expect(admin.get_by_text(secret)).to_have_count(0)

    # An event, refused by the receiver: the log shows the failed attempt.
    receiver.plan = [500, 200]
    product = shop.take_product()
    api = session_api(admin)
    r = api("PATCH", f"/api/admin/products/{product['id']}", data={"name": f"{product['name']} (renamed)"})
    assert r.ok, r.text()
    receiver.wait_for(1)
    headers, body, status = receiver.got[0]
    assert status == 500
    sent = Webhook(secret).verify(body, headers)  # signed with the secret the page showed
    assert sent["type"] == "product.updated" and sent["data"]["id"] == product["id"]

    admin.get_by_test_id("webhook-row").filter(has_text=receiver.url).get_by_test_id("webhook-log-link").click()
    admin.wait_for_url(re.compile(rf"#/admin/webhooks/{webhook_id}$"))
    expect(admin.get_by_test_id("log-endpoint-url")).to_have_text(receiver.url)
    delivery = admin.get_by_test_id("delivery-row").filter(has_text="product.updated")
    expect(delivery.get_by_test_id("attempt-count")).to_contain_text("last HTTP 500")
    expect(delivery).to_have_attribute("data-state", "pending")
    delivery.get_by_test_id("attempt-count").click()  # the attempts, with the receiver's answer
    expect(delivery.get_by_test_id("webhook-attempt").first).to_contain_text("HTTP 500")
    expect(delivery.locator(".excerpt").first).to_contain_text("receiver says 500")
    assert_accessible(admin, "the delivery log")

    delivery.get_by_test_id("redeliver").click()
    expect(delivery.get_by_test_id("redeliver-result")).to_contain_text("Delivered: HTTP 200")
    expect(delivery).to_have_attribute("data-state", "succeeded")
    expect(delivery.get_by_test_id("delivery-state")).to_have_text("succeeded")
    again_headers, again_body, _ = receiver.got[-1]
    assert again_headers["webhook-id"] == headers["webhook-id"] and again_body == body  # the same message
    Webhook(secret).verify(again_body, again_headers)

    # Pause, then resume; then delete (asked in the page first).
    go(admin, "#/admin/webhooks")
    row = admin.locator(f"[data-testid=webhook-row][data-webhook-id='{webhook_id}']")
    row.get_by_test_id("pause-webhook").click()
    expect(row.get_by_test_id("webhook-state")).to_have_text("Paused")
    assert not next(w for w in api("GET", "/api/admin/webhooks").json() if w["id"] == webhook_id)["active"]
    row.get_by_test_id("resume-webhook").click()
    expect(row.get_by_test_id("webhook-state")).to_have_text("Active")
    row.get_by_test_id("delete-webhook").click()
    expect(row.get_by_test_id("confirm-delete-webhook")).to_be_focused()
    row.get_by_test_id("confirm-delete-webhook").click()
    expect(admin.locator(f"[data-testid=webhook-row][data-webhook-id='{webhook_id}']")).to_have_count(0)
    expect(admin.get_by_test_id("webhooks-error")).to_contain_text("Deleted")
    assert webhook_id not in [w["id"] for w in api("GET", "/api/admin/webhooks").json()]


def test_the_webhooks_page_fits_a_phone_and_shoppers_cannot_open_it(pages: Pages, shop: Shop) -> None:
    admin = _admin(pages, shop, "#/admin/webhooks", PHONE)
    admin.get_by_test_id("webhook-form").wait_for()
    overflow = admin.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert_accessible(admin, "the webhooks page on a phone")
    shopper = pages.new()
    sign_in(shopper, shop.email("plain"), start="#/admin/webhooks")
    expect(shopper.get_by_test_id("admin-denied")).to_be_visible()


def test_the_low_stock_view_lists_what_runs_out_lowest_first_and_restocks_in_place(pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    variant_id = product["variants"][0]["id"]
    admin = _admin(pages, shop, "#/admin/low-stock")
    api = session_api(admin)
    assert api("PUT", f"/api/admin/variants/{variant_id}/stock", data={"stockQty": 0}).ok
    form = admin.get_by_test_id("threshold-form")
    form.get_by_test_id("threshold").fill("1.5")
    form.get_by_role("button", name="Show").click()
    expect(form.locator("[data-error-for=threshold]")).to_contain_text("whole number")
    form.get_by_test_id("threshold").fill("0")
    form.get_by_role("button", name="Show").click()
    admin.wait_for_url(re.compile(r"#/admin/low-stock\?threshold=0$"))
    row = admin.locator(f"[data-testid=low-stock-row][data-variant-id='{variant_id}']")
    expect(row.get_by_test_id("low-stock-qty")).to_have_text("0")
    expect(row).to_contain_text(product["name"])
    assert all(q == "0" for q in admin.get_by_test_id("low-stock-qty").all_inner_texts())
    assert_accessible(admin, "the low-stock view")

    row.get_by_test_id("restock-qty").fill("-2")
    row.get_by_test_id("restock-save").click()
    expect(row.locator("[data-error-for=stockQty]")).to_contain_text("whole number")
    row.get_by_test_id("restock-qty").fill("12")
    row.get_by_test_id("restock-save").click()
    expect(row.get_by_test_id("restock-result")).to_contain_text("12 in stock")
    expect(row.get_by_test_id("low-stock-qty")).to_have_text("12")
    fresh = httpx.get(f"{shop.base}/api/products/{product['slug']}", timeout=10).json()
    assert fresh["variants"][0]["stockQty"] == 12
    admin.reload()
    admin.get_by_test_id("low-stock").locator("h2").wait_for()
    expect(admin.get_by_test_id("low-stock")).not_to_have_attribute("aria-busy", "true")
    expect(admin.locator(f"[data-testid=low-stock-row][data-variant-id='{variant_id}']")).to_have_count(0)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_account_page_renames_the_shopper_everywhere(pages: Pages, shop: Shop, viewport: str) -> None:
    page = pages.new(PHONE if viewport == "phone" else None)
    sign_in(page, shop.email("renamer"))
    header_link(page, "user-name").click()
    form = page.get_by_test_id("profile-form")
    expect(page.get_by_test_id("profile-email")).to_have_text(shop.email("renamer"))
    assert_accessible(page, f"the account page ({viewport})")
    form.get_by_test_id("profile-name").fill("Bell\u0007Ringer")
    form.get_by_test_id("save-profile").click()
    expect(form.locator("[data-error-for=name]")).to_contain_text("control character")
    expect(page.get_by_test_id("profile-result")).not_to_contain_text("$name")  # never GraphQL's variable name
    name = f"Rena {viewport.capitalize()}"
    form.get_by_test_id("profile-name").fill(name)
    form.get_by_test_id("save-profile").click()
    expect(page.get_by_test_id("profile-result")).to_contain_text("Saved")
    expect(page.get_by_test_id("user-name")).to_have_text(name)
    page.reload()
    page.get_by_test_id("profile-form").wait_for()
    expect(page.get_by_test_id("profile-name")).to_have_value(name)


def test_changing_the_password_needs_the_current_one_and_signs_in_again_with_the_new_one(
        pages: Pages, shop: Shop) -> None:
    email = shop.email("rekeyer")
    page = pages.new()
    elsewhere = pages.new()
    sign_in(elsewhere, email, start="#/orders")
    sign_in(page, email, start="#/account")
    form = page.get_by_test_id("password-form")
    form.get_by_test_id("current-password").fill("not my password")
    form.get_by_test_id("new-password").fill("brand-new-secret-1")
    form.get_by_test_id("confirm-password").fill("brand-new-secret-2")
    form.get_by_test_id("change-password").click()
    expect(form.locator("[data-error-for=confirmPassword]")).to_contain_text("differ")
    form.get_by_test_id("confirm-password").fill("brand-new-secret-1")
    form.get_by_test_id("change-password").click()
    expect(form.locator("[data-error-for=currentPassword]")).to_contain_text("not your current password")
    expect(form.get_by_test_id("current-password")).to_be_focused()
    form.get_by_test_id("current-password").fill(PASSWORD)
    form.get_by_test_id("change-password").click()
    done = page.get_by_test_id("password-changed")
    expect(done.get_by_role("heading", name="Password changed")).to_be_focused()
    assert_accessible(page, "the password-changed page")
    # Signed out on the other device too.
    go(elsewhere, "#/wallet")
    expect(elsewhere.get_by_test_id("sign-in-again")).to_be_visible()  # "Your session expired, sign in again."
    # The old password no longer works; the new one does, and lands back on the account page.
    done.get_by_test_id("sign-in-after-password").click()
    page.locator("input[name=action][value=signin]").wait_for(state="attached")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("p.error")).to_be_visible()
    assert "/oauth/authorize" in page.url
    fill_sign_in_form(page, email, "brand-new-secret-1")
    page.wait_for_url(re.compile(r"#/account$"))
    expect(page.get_by_test_id("profile-email")).to_have_text(email)


def test_in_demo_mode_the_shop_says_so_with_the_test_card_and_free_top_ups(pages: Pages, shop: Shop) -> None:
    page = pages.new(PHONE)
    sign_in(page, shop.email("visitor"))
    banner = page.get_by_test_id("demo-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("4242 4242 4242 4242")
    expect(banner).to_contain_text("top-ups are free")
    add_to_cart(page, shop.take_product()["slug"])
    open_checkout(page)
    page.get_by_test_id("pay-card").check()
    expect(page.get_by_test_id("test-cards")).to_be_visible()
    go(page, "#/wallet")
    expect(page.get_by_test_id("demo-topup-hint")).to_be_visible()
    assert_accessible(page, "the wallet page in demo mode on a phone")


def test_the_sales_dashboard_charts_paid_orders_per_day_and_the_orders_tab_filters_by_status(
        pages: Pages, shop: Shop) -> None:
    admin = _admin(pages, shop, "#/admin/sales")
    api = session_api(admin)
    before = api("GET", "/api/admin/sales", params={"days": 30}).json()
    eur_before = next((s["revenueMinor"] for s in before["currencies"] if s["currency"] == "EUR"), 0)
    # A shopper buys something now.
    buyer = pages.new()
    sign_in(buyer, shop.email("spender"))
    product = shop.take_product()
    top_up(buyer, "EUR", "3000.00")
    add_to_cart(buyer, product["slug"])
    open_checkout(buyer)
    buyer.get_by_test_id("place-order").click()
    order_id = placed_order_id(buyer)
    total = session_api(buyer)("GET", f"/api/orders/{order_id}").json()["totalMinor"]

    admin.reload()
    series = admin.locator("[data-testid=sales-series][data-currency=EUR]")
    expect(series.get_by_test_id("sales-revenue")).to_have_attribute("data-minor", str(eur_before + total))
    today = before["currencies"][0]["days"][-1]["date"] if before["currencies"] else None
    chart = series.get_by_test_id("sales-chart")
    expect(chart).to_have_attribute("role", "img")
    last_bar = chart.locator("rect.chart-bar").last
    if today:
        expect(last_bar).to_have_attribute("data-date", today)
    series.locator("summary").click()
    expect(series.get_by_test_id("sales-day").first).not_to_have_attribute("data-orders", "0")
    assert_accessible(admin, "the sales dashboard")
    admin.get_by_test_id("sales-period").filter(has_text="Last 7 days").click()
    admin.wait_for_url(re.compile(r"#/admin/sales\?days=7$"))
    expect(admin.locator("[data-testid=sales-series][data-currency=EUR] rect.chart-bar")).to_have_count(7)

    admin.get_by_test_id("admin-tab-orders").click()
    admin.locator("[data-testid=order-status-option][data-status=paid]").click()
    admin.wait_for_url(re.compile(r"#/admin/orders\?status=paid$"))
    row = admin.locator(f"[data-testid=admin-order-row][data-order-id='{order_id}']")
    expect(row.get_by_test_id("order-status")).to_have_text("paid")
    assert set(admin.get_by_test_id("order-status").all_text_contents()) == {"paid"}
    assert_accessible(admin, "the admin orders list")
    admin.locator("[data-testid=order-status-option][data-status=cancelled]").click()
    admin.wait_for_url(re.compile(r"status=cancelled$"))
    admin.get_by_test_id("admin-orders").locator("h2").filter(has_text="cancelled").wait_for()
    expect(admin.locator(f"[data-testid=admin-order-row][data-order-id='{order_id}']")).to_have_count(0)
    admin.set_viewport_size(PHONE)
    go(admin, "#/admin/sales")
    admin.get_by_test_id("sales-series").first.wait_for()
    assert admin.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (1200, 900)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def test_the_admin_uploads_pictures_in_the_product_editor_and_shoppers_see_a_gallery_with_srcset(
        pages: Pages, shop: Shop) -> None:
    product = shop.take_product()
    admin = _admin(pages, shop, "#/admin")
    search = admin.get_by_test_id("admin-product-search")
    search.get_by_role("searchbox").fill(product["name"])
    search.get_by_role("button", name="Search").click()
    admin.locator(f"[data-testid=admin-product-row][data-slug='{product['slug']}']").get_by_test_id("edit-product").click()
    images = admin.get_by_test_id("product-images")
    before = images.get_by_test_id("image-row").count()
    form = images.get_by_test_id("image-form")
    # Nothing chosen, then something that is not a picture though it says so: both refused in words.
    form.get_by_test_id("upload-image").click()
    expect(form.locator("[data-error-for=file]")).to_contain_text("Choose a picture")
    form.get_by_test_id("image-file").set_input_files(
        files=[{"name": "fake.png", "mimeType": "image/png", "buffer": b"not a picture at all"}])
    form.get_by_test_id("upload-image").click()
    expect(images.get_by_test_id("image-result")).to_contain_text("not a JPEG, PNG or WebP picture")
    for colour, alt in (((200, 40, 40), "Red side"), ((40, 40, 200), "Blue back")):
        form = images.get_by_test_id("image-form")
        form.get_by_test_id("image-file").set_input_files(
            files=[{"name": f"{alt}.png", "mimeType": "image/png", "buffer": _png(colour)}])
        form.get_by_test_id("image-alt").fill(alt)
        form.get_by_test_id("upload-image").click()
        expect(images.get_by_test_id("image-result")).to_contain_text("Uploaded")
    expect(images.get_by_test_id("image-row")).to_have_count(before + 2)
    assert_accessible(admin, "the product editor with pictures")

    shopper = pages.new()
    shopper.goto(f"/#/p/{product['slug']}")
    gallery = shopper.get_by_test_id("gallery")
    hero = gallery.get_by_test_id("product-image")
    thumbs = gallery.get_by_test_id("gallery-thumb")
    expect(thumbs).to_have_count(before + 2)
    expect(hero).to_have_attribute("srcset", re.compile(r"\d+w"))
    last = thumbs.last
    expect(last).to_have_attribute("aria-label", "Show picture: Blue back")
    last.click()
    expect(last).to_have_attribute("aria-pressed", "true")
    expect(hero).to_have_attribute("alt", "Blue back")
    src = hero.get_attribute("src") or ""
    assert httpx.get(f"{shop.base}{src}" if src.startswith("/") else src, timeout=10).status_code == 200
    assert_accessible(shopper, "the product gallery")

    # Deleting one in the editor removes it from the shop.
    images.get_by_test_id("image-row").last.get_by_test_id("delete-image").click()
    expect(images.get_by_test_id("image-result")).to_contain_text("Picture deleted")
    expect(images.get_by_test_id("image-row")).to_have_count(before + 1)
    fresh = httpx.get(f"{shop.base}/api/products/{product['slug']}", timeout=10).json()
    assert [i["alt"] for i in fresh["images"]][-1] == "Red side"


def test_the_owner_fulfils_and_partly_refunds_an_order_and_the_shopper_sees_tracking_and_the_refund(
        pages: Pages, shop: Shop) -> None:
    email = shop.email("tracker")
    buyer = pages.new()
    sign_in(buyer, email)
    top_up(buyer, "EUR", "3000.00")
    add_to_cart(buyer, shop.take_product()["slug"], qty=2)
    open_checkout(buyer)
    buyer.get_by_test_id("place-order").click()
    order_id = placed_order_id(buyer)
    total = session_api(buyer)("GET", f"/api/orders/{order_id}").json()["totalMinor"]

    admin = _admin(pages, shop, "#/admin/orders")
    search = admin.get_by_test_id("order-email-search")
    search.get_by_test_id("order-email").fill(email)
    search.get_by_role("button", name="Find").click()
    row = admin.locator(f"[data-testid=admin-order-row][data-order-id='{order_id}']")
    expect(row).to_contain_text(email)
    row.get_by_test_id("admin-order-link").click()
    detail = admin.get_by_test_id("admin-order-detail")
    expect(detail).to_have_attribute("data-status", "paid")
    expect(admin.get_by_test_id("admin-order-email")).to_have_text(email)
    assert_accessible(admin, "the admin order detail")
    fulfil = admin.get_by_test_id("fulfil-form")
    fulfil.get_by_test_id("fulfil-submit").click()
    expect(fulfil.locator("[data-error-for=carrier]")).to_contain_text("Enter the carrier")
    fulfil.get_by_test_id("fulfil-carrier").fill("DHL")
    fulfil.get_by_test_id("fulfil-tracking").fill("JD0146 0000 1234")
    fulfil.get_by_test_id("fulfil-submit").click()
    expect(admin.get_by_test_id("admin-order-result")).to_contain_text("Shipped with DHL")
    expect(detail).to_have_attribute("data-status", "fulfilled")
    expect(admin.get_by_test_id("fulfil-form")).to_have_count(0)

    # The shopper sees the shipment and its tracking number.
    go(buyer, f"#/orders/{order_id}")
    tracking = buyer.get_by_test_id("order-tracking")
    expect(tracking.get_by_test_id("tracking-number")).to_have_text("JD0146 0000 1234")
    expect(tracking.locator("[data-event=fulfilled]")).to_contain_text("Shipped with DHL")
    expect(buyer.get_by_test_id("cancel-order")).to_have_count(0)  # a shipped order is not cancelled by the shopper
    assert_accessible(buyer, "the order page with tracking")

    # A partial refund: more than paid is refused in the page, then a part goes back.
    refund = admin.get_by_test_id("refund-form")
    refund.get_by_test_id("refund-amount").fill(f"{(total + 100) // 100}.{(total + 100) % 100:02d}")
    refund.get_by_test_id("refund-submit").click()
    expect(refund.locator("[data-error-for=amount]")).to_contain_text("is left to refund")
    refund.get_by_test_id("refund-amount").fill("1.50")
    refund.get_by_test_id("refund-reason").fill("Scratched box")
    refund.get_by_test_id("refund-submit").click()
    expect(admin.get_by_test_id("admin-order-result")).to_contain_text("Refunded")
    expect(detail).to_have_attribute("data-status", "partially_refunded")
    expect(detail.get_by_test_id("order-refunded")).to_contain_text("1.50")

    buyer.reload()
    buyer.get_by_test_id("order-tracking").wait_for()
    expect(buyer.locator("[data-testid=order-tracking] [data-event=refunded]")).to_contain_text("Scratched box")
    expect(buyer.get_by_test_id("order-refunded")).to_contain_text("1.50")
    expect(buyer.get_by_test_id("order-detail")).to_have_attribute("data-status", "partially_refunded")

    # The customer list has the buyer with the net amount.
    admin.get_by_test_id("admin-tab-customers").click()
    admin.get_by_test_id("customer-table").wait_for()
    assert_accessible(admin, "the customers list")
