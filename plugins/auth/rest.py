"""REST adapters over the Users service."""

from __future__ import annotations

from kernel.web.rest import Route

from .contract import Users

ROUTES = [
    Route("GET", "/api/me", Users.get_me, summary="The signed-in user", tags=("auth",)),
    Route("PATCH", "/api/me", Users.update_me, summary="Change your name (from the shop itself only)",
          tags=("auth",)),
    Route("POST", "/api/me/password", Users.change_password, tags=("auth",),
          summary="Change your password (the current one is required); every session is signed out"),
    Route("GET", "/api/me/grants", Users.list_my_grants,
          summary="Applications the user allowed, with the scopes in words (from the shop itself only)",
          tags=("auth",)),
    Route("DELETE", "/api/me/grants/{clientId}", Users.revoke_grant,
          summary="Withdraw an application's permission and revoke its tokens", tags=("auth",)),
    Route("POST", "/api/auth/password-reset", Users.request_password_reset, status=202, tags=("auth",),
          summary="Mail a password reset link (the answer is the same whether the email has an account)"),
    Route("POST", "/api/auth/password-reset/confirm", Users.reset_password, status=204, tags=("auth",),
          summary="Set a new password with the mailed token (single use); every session is signed out"),
]
