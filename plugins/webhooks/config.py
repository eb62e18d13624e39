"""The webhooks plugin's config section (``[plugins.webhooks]``)."""

from __future__ import annotations

import dataclasses
import os

from kernel.core.messages import constraint, message


@message
class WebhooksConfig:
    # http:// and private, loopback or link-local targets (also SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS=1).
    allow_private_targets: bool = False
    stock_low_threshold: int = constraint(default=5, min=1, max=10**9,
                                          doc="stock.low fires when stock falls below this")
    max_attempts: int = constraint(default=12, min=1, max=100)
    retry_base_ms: int = constraint(default=30_000, min=1, max=86_400_000,
                                    doc="the first retry waits about this long, doubling each time")
    retry_max_seconds: int = constraint(default=6 * 3600, min=1, max=7 * 86400)
    disable_after_seconds: int = constraint(default=5 * 86400, min=1, max=365 * 86400,
                                            doc="an endpoint failing for this long is disabled")
    timeout_ms: int = constraint(default=10_000, min=100, max=120_000, doc="whole request, response included")
    connect_timeout_ms: int = constraint(default=3_000, min=100, max=60_000)
    max_response_bytes: int = constraint(default=65536, min=0, max=10 * 1024 * 1024)
    poll_ms: int = constraint(default=1_000, min=10, max=60_000)
    concurrency: int = constraint(default=16, min=1, max=256)


def effective(config: WebhooksConfig | None) -> WebhooksConfig:
    cfg = config or WebhooksConfig()
    if os.environ.get("SHOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "").lower() in ("1", "true", "yes", "on"):
        cfg = dataclasses.replace(cfg, allow_private_targets=True)
    return cfg
