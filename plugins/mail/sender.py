"""Order mails, sent by outbox handlers over SMTP (aiosmtplib); a failure raises, so the outbox retries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from kernel.core.context import CallContext, Principal
from kernel.core.events import current_delivery
from kernel.core.status import BusError, Status
from plugins.auth.contract import GetUser, IssueResetLink, PasswordResetMail, Users

from .config import MailConfig
from .render import render, render_reset

log = logging.getLogger("shop.plugins.mail")

SYSTEM = Principal(kind="client", subject="mail", client_id="shop-mail")
SUBJECTS = {"order_confirmation": "Your order {id} is confirmed", "shipping_notice": "Your order {id} has shipped",
            "password_reset": "Reset your {shop} password"}
# The storefront's page that takes the token (in the fragment: it never reaches a server log or a Referer).
RESET_PAGE = "/#/reset-password?token="


class SmtpTarget:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP URL must be smtp://host:port or smtps://host:port")
        self.host = parts.hostname
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None


class Mailer:
    def __init__(self, ctx: Any, cfg: MailConfig) -> None:
        self.bus = ctx.bus
        self.cfg = cfg
        self.target = SmtpTarget(cfg.smtp_url)
        self.base_url = ctx.settings.issuer  # public_url, or this server's address

    async def _recipient(self, kind: str, order: Any) -> tuple[str, str] | None:
        """(address, greeting name): the order's email when it has one (guests always do), else the account's."""
        if order.email:
            if order.user_id.startswith("guest:") or not self.bus.has(Users.get_user):
                return order.email, "customer"
        try:
            user = await self.bus.call(Users.get_user, GetUser(user_id=order.user_id),
                                       CallContext(principal=SYSTEM).nested())
        except BusError as exc:
            if exc.status is Status.NOT_FOUND:  # the account is gone: nobody to write to, nothing to retry
                if order.email:
                    return order.email, "customer"
                log.warning("mail_skipped_no_user", extra={"kind": kind, "order": order.id})
                return None
            raise
        return order.email or user.email, user.name or user.email

    async def order_mail(self, kind: str, order: Any, shipment: tuple[str, str] | None = None,
                         link: str | None = None) -> None:
        if order is None:
            log.warning("mail_skipped_no_order_snapshot", extra={"kind": kind})
            return
        who = await self._recipient(kind, order)
        if who is None:
            return
        address, name = who
        text, page = render(kind, order, name=name, shop=self.cfg.shop_name, shipment=shipment, link=link)
        msg = EmailMessage()
        msg["From"] = self.cfg.from_address
        msg["To"] = address
        msg["Subject"] = SUBJECTS[kind].format(id=order.id)
        msg["Date"] = formatdate(localtime=False)
        d = current_delivery()
        # One id per (event, mail): a retried send after a crash is recognisable as the same message.
        domain = self.cfg.from_address.rsplit("@", 1)[-1].strip("> ") or "localhost"
        msg["Message-ID"] = f"<{kind}.{d.event_id if d else order.id}@{domain}>"
        msg.set_content(text)
        msg.add_alternative(page, subtype="html")
        await self._send(msg)
        log.info("mail_sent", extra={"kind": kind, "order": order.id})

    async def _send(self, msg: EmailMessage) -> None:
        t = self.target
        await aiosmtplib.send(msg, hostname=t.host, port=t.port, username=t.username, password=t.password,
                              use_tls=t.tls, timeout=self.cfg.timeout_seconds)

    async def on_password_reset(self, event: PasswordResetMail) -> None:
        """The reset link, made now (auth stores only its hash). Unknown email, used or expired: nothing."""
        try:
            link = await self.bus.call(Users.issue_reset_link, IssueResetLink(reset_id=event.reset_id),
                                       CallContext(principal=SYSTEM).nested())
        except BusError as exc:
            if exc.status is Status.NOT_FOUND:
                return
            raise
        left = datetime.fromisoformat(link.expires_at.replace("Z", "+00:00")) - datetime.now(UTC)
        text, page = render_reset(name=link.name or "customer", shop=self.cfg.shop_name,
                                  link=f"{self.base_url}{RESET_PAGE}{link.token}",
                                  minutes=max(1, int(left.total_seconds() // 60)))
        msg = EmailMessage()
        msg["From"] = self.cfg.from_address
        msg["To"] = link.email
        msg["Subject"] = SUBJECTS["password_reset"].format(shop=self.cfg.shop_name)
        msg["Date"] = formatdate(localtime=False)
        msg.set_content(text)
        msg.add_alternative(page, subtype="html")
        await self._send(msg)
        log.info("mail_sent", extra={"kind": "password_reset"})

    async def guest_link(self, order: Any) -> str | None:
        """A guest has no account to follow the order in: the mail carries a fresh signed link instead
        (signed by orders at send time, so no bearer link waits in the outbox)."""
        import plugins.orders.contract as orders

        if order is None or not order.user_id.startswith("guest:") or not self.bus.has(orders.Orders.sign_guest_link):
            return None
        link = await self.bus.call(orders.Orders.sign_guest_link, orders.SignGuestLink(order_id=order.id),
                                   CallContext(principal=SYSTEM).nested())
        return f"{self.base_url}/api/guest-orders/{link.token}"

    async def on_order_placed(self, event: Any) -> None:
        await self.order_mail("order_confirmation", event.order, link=await self.guest_link(event.order))

    async def on_order_fulfilled(self, event: Any) -> None:
        # The parcel this event is about (an order may ship in several).
        await self.order_mail("shipping_notice", event.order, (event.carrier, event.tracking_number))
