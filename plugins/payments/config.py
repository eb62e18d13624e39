"""``[plugins.payments]``: which provider takes new intents, how long stock is held, when to capture."""

from __future__ import annotations

from typing import Literal

from kernel.core.messages import constraint, message


@message
class PaymentsConfig:
    provider: str = constraint(default="test", min_len=1, max_len=40,
                               doc="the provider (added by a plugin) that handles new intents")
    payment_timeout_s: int = constraint(default=900, min=10, max=86_400,
                                        doc="how long an unpaid order holds its stock (seconds)")
    capture: Literal["automatic", "manual"] = constraint(
        default="automatic", doc="automatic: capture on confirmation; manual: authorize, capture at fulfilment")
    expiry_every_ms: int = constraint(default=5000, min=50, max=3_600_000, doc="how often the expiry job runs")
