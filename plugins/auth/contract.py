"""What other plugins may import from auth: user messages and the Users service."""

from __future__ import annotations

from kernel.core.events import Event
from kernel.core.messages import Timestamp, Uuid, constraint, message
from kernel.core.scopes import Scope
from kernel.core.service import Http, Service, rpc

# The scopes this plugin owns (``admin`` is the kernel's); other plugins declare theirs.
SCOPES = (
    Scope("openid", "Sign you in to this application with your shop account"),
    Scope("profile", "See your name"),
    Scope("email", "See your email address"),
)


@message
class User:
    """A shop account."""

    id: Uuid
    email: str
    name: str
    roles: tuple[str, ...]
    created_at: Timestamp


@message
class GetMe:
    pass


@message
class GetUser:
    user_id: str = constraint(min_len=1, max_len=64)


@message
class FindUserByEmail:
    email: str = constraint(min_len=3, max_len=254, strip=True)


@message
class UpdateMe:
    name: str = constraint(max_len=200, strip=True, doc="the name the shop greets you by")


@message
class ChangePassword:
    current_password: str = constraint(min_len=1, max_len=1024)
    new_password: str = constraint(min_len=1, max_len=1024, doc="8 to 1024 characters")


@message
class PasswordChanged:
    changed: bool
    signed_out: bool  # every session and token of the account was revoked: sign in again


@message
class ScopeView:
    """A scope, with what it allows in words (as on the consent screen)."""

    name: str
    description: str


@message(graphql="OAuthGrant")
class Grant:
    """What the user allowed a third-party application to do (remembered consent)."""

    client_id: str
    client_name: str
    scopes: tuple[ScopeView, ...]
    created_at: str  # ISO 8601, UTC
    updated_at: str


@message
class ListMyGrants:
    pass


@message
class RevokeGrant:
    client_id: str = constraint(min_len=1, max_len=100)


@message
class GrantRevoked:
    client_id: str
    revoked: bool


EMAIL = r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}"


@message
class RequestPasswordReset:
    email: str = constraint(min_len=3, max_len=254, pattern=EMAIL, strip=True,
                            doc="the account's email; the answer is the same whether it has an account")


@message
class PasswordResetRequested:
    """The answer to a reset request: always the same (no account enumeration)."""

    accepted: bool
    expires_in: int  # seconds a mailed link stays valid


@message
class ResetPassword:
    token: str = constraint(min_len=20, max_len=200, doc="the token from the mailed link")
    password: str = constraint(min_len=1, max_len=1024, doc="the new password, 8 to 1024 characters")


@message
class PasswordReset:
    reset: bool
    signed_out: bool  # every session and token of the account was revoked


@message
class PasswordResetMail(Event, topic="auth.password_reset_mail"):
    """A reset was asked for: the mail plugin sends the link. Carries no token and no address: the
    sender asks :attr:`Users.issue_reset_link` at send time (nothing secret waits in the outbox)."""

    reset_id: str


@message
class IssueResetLink:
    reset_id: str = constraint(min_len=1, max_len=64)


@message
class ResetLink:
    """A fresh token for a pending reset (the previous one, if mailed before, stops working)."""

    email: str
    name: str
    token: str
    expires_at: Timestamp


# OpenAPI tags of the REST routes declared below (rest=Http(...)).
TAGS = ("auth",)


class Users(Service, package="shop.auth.v1"):
    # GET /api/me, GraphQL me
    get_me = rpc(GetMe, User, graphql="Query.me", user=True,
                 rest=Http("GET /api/me", "The signed-in user", tags=TAGS))
    # GET /api/me/grants, DELETE /api/me/grants/{clientId}; GraphQL myGrants, revokeGrant.
    # Only from the shop itself (web-client): a third-party app cannot read or undo consents.
    # PATCH /api/me, POST /api/me/password; GraphQL updateMe, changePassword. From the shop itself only.
    update_me = rpc(UpdateMe, User, graphql="Mutation.updateMe", user=True, rate_limit="write", write=True,
                    rest=Http("PATCH /api/me", "Change your name (from the shop itself only)", tags=TAGS))
    change_password = rpc(ChangePassword, PasswordChanged, graphql="Mutation.changePassword", user=True, rate_limit="login",
                          write=True,
                          rest=Http("POST /api/me/password", tags=TAGS,
                                    summary="Change your password (the current one is required); every session is "
                                            "signed out"))
    list_my_grants = rpc(ListMyGrants, tuple[Grant, ...], graphql="Query.myGrants", user=True,
                         rest=Http("GET /api/me/grants", tags=TAGS,
                                   summary="Applications the user allowed, with the scopes in words (from the shop "
                                           "itself only)"))
    revoke_grant = rpc(RevokeGrant, GrantRevoked, graphql="Mutation.revokeGrant", user=True, rate_limit="write", write=True,
                       rest=Http("DELETE /api/me/grants/{clientId}", tags=TAGS,
                                 summary="Withdraw an application's permission and revoke its tokens"))
    # POST /api/auth/password-reset (202), POST /api/auth/password-reset/confirm (204);
    # GraphQL requestPasswordReset, resetPassword. Anonymous; throttled per address and per email.
    request_password_reset = rpc(RequestPasswordReset, PasswordResetRequested, graphql="Mutation.requestPasswordReset",
                                 rate_limit="login", write=True,
                                 rest=Http("POST /api/auth/password-reset", status=202, tags=TAGS,
                                           summary="Mail a password reset link (the answer is the same whether the "
                                                   "email has an account)"))
    reset_password = rpc(ResetPassword, PasswordReset, graphql="Mutation.resetPassword", rate_limit="login", write=True,
                         rest=Http("POST /api/auth/password-reset/confirm", status=204, tags=TAGS,
                                   summary="Set a new password with the mailed token (single use); every session is "
                                           "signed out"))
    # The mail plugin, when it sends the reset mail; NOT_FOUND: nothing to send (unknown email, used, expired).
    issue_reset_link = rpc(IssueResetLink, ResetLink, internal=True)
    # For other plugins (e.g. wallet transfers by email); never exposed over HTTP.
    get_user = rpc(GetUser, User, internal=True)
    find_user_by_email = rpc(FindUserByEmail, User, internal=True)
