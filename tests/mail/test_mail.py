"""Order mails over SMTP, read back from a real aiosmtpd server started by the test."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import plugins.catalog
import plugins.mail
import plugins.orders
import plugins.payments
import plugins.testpay
import plugins.wallet
from kernel.core.context import CallContext
from plugins.catalog.contract import Catalog, CreateCategory, CreateProduct
from plugins.mail.render import money, render
from plugins.orders.contract import Checkout, CreateFulfillment, Order, OrderItem, Orders
from plugins.shipping.contract import Address, ShippingMethod
from tests.conftest import rt_of
from tests.orders.shop import ADMIN, Shop, user_ctx
from tests.support import fake_identity
from tests.support.live import free_port
from tests.wallet import fake_users


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


class Smtp:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> Smtp:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


@pytest.fixture
def smtp() -> Any:
    server = Smtp(free_port())
    yield server
    server.stop()


@pytest.fixture
def mail_shop(make_client: Any, monkeypatch: Any) -> Callable[..., Any]:
    async def make(port: int) -> Shop:
        monkeypatch.setenv("SHOP_SMTP_URL", f"smtp://127.0.0.1:{port}")
        limits = {name: (1_000_000, 60.0) for name in ("read", "write", "money", "login", "signup", "token")}
        client = await make_client(
            plugins=[plugins.catalog, plugins.wallet, plugins.orders, plugins.payments, plugins.testpay, fake_users,
                     fake_identity, plugins.mail],
            rate_limits=limits, plugin_config={"mail": {"shop_name": "Test <Shop>", "from_address": "shop@shop.test"}})
        rt = rt_of(client)
        assert rt.outbox is not None
        rt.outbox.policy.poll, rt.outbox.policy.backoff_base = 0.05, 0.05
        return Shop(client=client, rt=rt)

    return make


async def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.03)


async def order_for(shop: Shop, user: str) -> Order:
    admin = CallContext(principal=ADMIN)
    cat = await shop.bus.call(Catalog.create_category, CreateCategory(slug=f"mail-{user}", name="Mail"), admin)
    tea = await shop.bus.call(Catalog.create_product, CreateProduct(
        slug=f"tea-{user}", name="Tea <b>& Co</b>", category_id=cat.id, price_minor=1250, currency="EUR",
        stock_qty=10), admin)
    cup = await shop.bus.call(Catalog.create_product, CreateProduct(
        slug=f"cup-{user}", name="Cup", category_id=cat.id, price_minor=399, currency="EUR", stock_qty=10), admin)
    await shop.top_up(user, "EUR", 10_000)
    await shop.add(user, tea.id, 2)
    await shop.add(user, cup.id, 1)
    return await shop.bus.call(Orders.checkout, Checkout(wallet_currency="EUR"), user_ctx(user))


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    assert text is not None and page is not None
    return text.get_content(), page.get_content()


async def test_a_paid_order_sends_a_confirmation_with_lines_and_totals(mail_shop: Any, smtp: Smtp) -> None:
    smtp.start()
    shop = await mail_shop(smtp.port)
    order = await order_for(shop, "mailer1")
    await eventually(lambda: any(order.id in str(m["Subject"]) for m in smtp.inbox.messages))
    msg = next(m for m in smtp.inbox.messages if order.id in str(m["Subject"]))
    assert msg["To"] == "mailer1@example.test"  # from the auth contract
    assert msg["From"] == "shop@shop.test" and "confirmed" in msg["Subject"]
    assert str(msg["Message-ID"]).strip().startswith("<order_confirmation.")
    text, page = parts(msg)
    assert "2 x Tea <b>& Co</b> @ 12.50 EUR = 25.00 EUR" in text
    assert "1 x Cup @ 3.99 EUR = 3.99 EUR" in text
    assert "Total: 28.99 EUR" in text and "Shipping to" not in text  # orders carry no address yet
    assert "Tea &lt;b&gt;&amp; Co&lt;/b&gt;" in page and "<b>&" not in page  # escaped in HTML
    assert "Test &lt;Shop&gt;" in page and "28.99 EUR" in page


async def test_mail_waits_in_the_outbox_while_smtp_is_down_and_goes_out_when_it_returns(
        mail_shop: Any, smtp: Smtp) -> None:
    shop = await mail_shop(smtp.port)  # nothing listens yet
    order = await order_for(shop, "mailer2")

    async def failed_attempts() -> int:
        return int(await shop.rt.db.fetchval(
            "SELECT coalesce(max(attempts), 0) FROM shop_outbox_task WHERE handler = 'mail:order_confirmation' "
            "AND state = 'pending' AND last_error IS NOT NULL"))

    for _ in range(300):
        if await failed_attempts() >= 2:
            break
        await asyncio.sleep(0.03)
    assert await failed_attempts() >= 2
    assert smtp.inbox.messages == []
    smtp.start()
    await eventually(lambda: any(order.id in str(m["Subject"]) for m in smtp.inbox.messages), timeout=30)
    assert len([m for m in smtp.inbox.messages if order.id in str(m["Subject"])]) == 1


async def test_fulfilling_an_order_sends_the_shipping_notice_with_carrier_and_tracking(
        mail_shop: Any, smtp: Smtp) -> None:
    smtp.start()
    shop = await mail_shop(smtp.port)
    order = await order_for(shop, "mailer3")
    await shop.bus.call(Orders.fulfil_order, CreateFulfillment(id=order.id, carrier="Post <& Co>",
                                                               tracking_number="TRACK-42"), CallContext(principal=ADMIN))
    await eventually(lambda: any("shipped" in str(m["Subject"]) for m in smtp.inbox.messages))
    msg = next(m for m in smtp.inbox.messages if "shipped" in str(m["Subject"]))
    assert order.id in str(msg["Subject"]) and msg["To"] == "mailer3@example.test"
    text, page = parts(msg)
    assert "Carrier: Post <& Co>" in text and "Tracking: TRACK-42" in text
    assert "Carrier: Post &lt;&amp; Co&gt;" in page and "Post <&" not in page
    assert "2 x Tea <b>& Co</b>" in text
    # A second parcel: a second notice, with its own tracking number (one event per fulfilment).
    await shop.bus.call(Orders.fulfil_order, CreateFulfillment(id=order.id, carrier="DHL", tracking_number="T-2"),
                        CallContext(principal=ADMIN))
    await eventually(lambda: len([m for m in smtp.inbox.messages if "shipped" in str(m["Subject"])]) == 2)
    assert "Tracking: T-2" in parts([m for m in smtp.inbox.messages if "shipped" in str(m["Subject"])][1])[0]


def test_the_confirmation_shows_shipping_tax_and_the_address_when_the_order_has_them() -> None:
    item = OrderItem(product_id="p", slug="s", name="Lamp", qty=1, unit_price_minor=1000, currency="JPY",
                     line_total_minor=1000)
    address = Address(id="", name="Ada <L>", line1="1 Main St", line2="", city="Springfield", postal_code="",
                      region="", country="US", phone="+1 555")
    method = ShippingMethod(id="00000000-0000-0000-0000-000000000001", name="Express", price_minor=500,
                            currency="JPY")
    order = Order(id="o-1", status="paid", total_minor=1650, currency="JPY", payment_method="wallet", items=(item,),
                  created_at="2026-12-01T00:00:00Z", user_id="u", subtotal_minor=1000, shipping_minor=500,
                  tax_minor=150, shipping_address=address, shipping_method=method)
    text, page = render("order_confirmation", order, name="Ada", shop="Shop")
    assert "Shipping to:\n  Ada <L>\n  1 Main St\n  Springfield\n  US" in text and "+1 555" not in text
    assert "Ada &lt;L&gt;<br>1 Main St" in page
    assert "Subtotal: 1000 JPY\nShipping (Express): 500 JPY\nTax: 150 JPY" in text and "Total: 1650 JPY" in text
    assert "Shipping (Express)" in page and "150 JPY" in page
    assert money(1050, "BHD") == "1.050 BHD"


async def test_without_an_smtp_url_the_mail_plugin_subscribes_to_nothing(make_client: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("SHOP_SMTP_URL", raising=False)
    client = await make_client(plugins=[plugins.catalog, plugins.wallet, plugins.orders, plugins.payments,
                                        plugins.testpay, fake_users, fake_identity, plugins.mail])
    keys = rt_of(client).events.all_durable_keys()
    assert not [k for k in keys if k.startswith("mail:")]


async def test_a_guest_confirmation_carries_the_signed_order_link_and_the_link_opens_the_order(
        mail_shop: Any, smtp: Smtp) -> None:
    import re
    from urllib.parse import urlsplit

    from tests.orders.shop import GOOD_CARD

    smtp.start()
    shop = await mail_shop(smtp.port)
    c = shop.client
    assert (await c.post("/api/guest-session")).status == 200
    p = await shop.product(price=450, stock=5)
    assert (await c.post("/api/cart/items", json={"productId": p.id, "qty": 2})).status == 200
    r = await c.post("/api/orders/checkout", json={
        "card": {"number": GOOD_CARD, "expMonth": 12, "expYear": 2099, "cvc": "123"}, "currency": "EUR",
        "email": "guest-mail@example.test"})
    assert r.status == 201, await r.text()
    order = await r.json()
    await eventually(lambda: any(order["id"] in str(m["Subject"]) for m in smtp.inbox.messages))
    msg = next(m for m in smtp.inbox.messages if order["id"] in str(m["Subject"]))
    assert msg["To"] == "guest-mail@example.test"
    text, page = parts(msg)
    found = re.findall(r"https?://\S+/api/guest-orders/[A-Za-z0-9_.-]+", text)
    assert len(found) == 1 and "in your account" not in text, text
    url = found[0]
    assert url.startswith(shop.rt.settings.issuer) and f'href="{url}"' in page
    # Follow it with no cookie (the guest came back from the mail, in another browser).
    c.session.cookie_jar.clear()
    r = await c.get(urlsplit(url).path)
    assert r.status == 200, await r.text()
    got = await r.json()
    assert got["id"] == order["id"] and got["email"] == "guest-mail@example.test" and got["status"] == "paid"
    # Altered, it opens nothing.
    assert (await c.get(urlsplit(url).path[:-3] + "xyz")).status == 404


async def test_an_account_order_mail_has_no_bearer_link(mail_shop: Any, smtp: Smtp) -> None:
    smtp.start()
    shop = await mail_shop(smtp.port)
    order = await order_for(shop, "mailer-nolink")
    await eventually(lambda: any(order.id in str(m["Subject"]) for m in smtp.inbox.messages))
    text, _page = parts(next(m for m in smtp.inbox.messages if order.id in str(m["Subject"])))
    assert "guest-orders" not in text and "You can follow your order in your account." in text
    with pytest.raises(Exception) as exc:  # orders signs links to guest orders only
        from plugins.orders.contract import SignGuestLink

        await shop.bus.call(Orders.sign_guest_link, SignGuestLink(order_id=order.id), CallContext(depth=1))
    assert getattr(exc.value, "reason", None) == "ORDER_LINK_INVALID"
