"""Mail plugin: order confirmation, shipping notice and password reset over SMTP, sent from the outbox
with retries."""

from __future__ import annotations

import logging

from kernel.core.events import Subscription
from kernel.host.hookspecs import hookimpl
from kernel.host.plugin import PluginContext, PluginInfo

from .config import MailConfig, effective

log = logging.getLogger("shop.plugins.mail")


@hookimpl
def shop_plugin() -> PluginInfo:
    return PluginInfo(name="mail", version="0.2.0", requires=("auth",), config=MailConfig,
                      description="order confirmation, shipping notice and password reset mails (SMTP)")


@hookimpl
def shop_event_handlers(ctx: PluginContext) -> list[Subscription]:
    import plugins.auth.contract as auth
    import plugins.orders.contract as orders

    from .sender import Mailer

    cfg = effective(ctx.config)
    if not cfg.smtp_url:
        log.info("mail_off", extra={"hint": "set SHOP_SMTP_URL (e.g. smtp://127.0.0.1:1025) to send order mails"})
        return []
    mailer = Mailer(ctx, cfg)
    return [Subscription(orders.OrderPlaced, mailer.on_order_placed, name="mail:order_confirmation"),
            Subscription(orders.OrderFulfilled, mailer.on_order_fulfilled, name="mail:shipping_notice"),
            Subscription(auth.PasswordResetMail, mailer.on_password_reset, name="mail:password_reset")]
