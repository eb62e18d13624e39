"""The orders plugin's config section (``[plugins.orders]`` in the TOML file)."""

from __future__ import annotations

from kernel.core.messages import constraint, message


@message
class OrdersConfig:
    # true: checkout needs a shipping address and method (every product is shippable: the catalog has
    # no digital goods yet). false (default): both are optional, so the seed checkout works as before.
    shipping_required: bool = False
    # How long a guest's signed order link stays valid.
    guest_link_ttl: int = constraint(default=30 * 86400, min=300, max=365 * 86400)
    # How often the recovery job finishes card refunds a crashed or failed request left unconfirmed.
    recovery_every_ms: int = constraint(default=5000, min=50, max=3_600_000)
