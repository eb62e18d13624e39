"""The auth plugin's config section (``[plugins.auth]`` in the TOML file)."""

from __future__ import annotations

from kernel.core.messages import constraint, message


@message
class ExternalIssuer:
    """An external OpenID Connect issuer whose access tokens the shop accepts."""

    issuer: str = constraint(min_len=8, max_len=500)
    jwks: str = constraint(min_len=8, max_len=500)  # the issuer's JWKS URL
    audience: str = constraint(min_len=1, max_len=500)


@message
class AuthConfig:
    access_token_ttl: int = constraint(default=900, min=60, max=86400)
    refresh_token_ttl: int = constraint(default=30 * 86400, min=300, max=365 * 86400)
    code_ttl: int = constraint(default=60, min=10, max=600)
    id_token_ttl: int = constraint(default=900, min=60, max=86400)
    session_max_age: int = constraint(default=14 * 86400, min=300, max=365 * 86400)
    # "" means the issuer itself.
    audience: str = constraint(default="", max_len=500)
    algorithm: str = constraint(default="ES256", pattern=r"^(ES256|RS256)$")
    external_issuers: tuple[ExternalIssuer, ...] = ()
    # Failure throttling (throttle.py): per (account, address), per address, and a much higher
    # per-account ceiling that only refuses addresses never successful for that account.
    signin_window: int = constraint(default=900, min=10, max=86400)
    signin_failures_per_pair: int = constraint(default=5, min=1, max=10_000)
    signin_failures_per_address: int = constraint(default=20, min=1, max=100_000)
    signin_failures_per_account: int = constraint(default=100, min=1, max=1_000_000)
    token_window: int = constraint(default=300, min=10, max=86400)
    token_failures_per_pair: int = constraint(default=20, min=1, max=10_000)
    token_failures_per_address: int = constraint(default=60, min=1, max=100_000)
    token_failures_per_account: int = constraint(default=600, min=1, max=1_000_000)
    # Password reset by mail (reset.py): how long a mailed link works, and how many requests an
    # email / a client address may make per window (every request counts, known email or not).
    password_reset_ttl: int = constraint(default=1800, min=60, max=86400)
    reset_window: int = constraint(default=3600, min=10, max=86400)
    reset_requests_per_email: int = constraint(default=5, min=1, max=10_000)
    reset_requests_per_address: int = constraint(default=20, min=1, max=100_000)
