"""The auth plugin's config section (``[plugins.auth]`` in the TOML file)."""

from __future__ import annotations

from kernel.messages import constraint, message


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
