"""The mail plugin's config section (``[plugins.mail]``); SHOP_SMTP_URL overrides ``smtp_url``."""

from __future__ import annotations

import dataclasses
import os

from kernel.core.messages import constraint, message


@message
class MailConfig:
    # smtp://[user:password@]host:port (STARTTLS when offered) or smtps:// (TLS); empty: mail is off.
    smtp_url: str = constraint(default="", max_len=500)
    from_address: str = constraint(default="Shop <shop@localhost>", min_len=3, max_len=300)
    shop_name: str = constraint(default="shopkernel", min_len=1, max_len=100)
    timeout_seconds: int = constraint(default=15, min=1, max=300)


def effective(config: MailConfig | None) -> MailConfig:
    cfg = config or MailConfig()
    url = os.environ.get("SHOP_SMTP_URL")
    if url:
        cfg = dataclasses.replace(cfg, smtp_url=url)
    return cfg
