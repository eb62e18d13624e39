"""Who is calling, and under which limits: the context every bus call carries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from .status import BusError, Status

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. ``kind`` is ``anonymous``, ``user`` or ``client``."""

    kind: str = "anonymous"
    subject: str | None = None
    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    via: str | None = None  # "bearer" or "session": how the principal was established

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def require_user(self) -> str:
        """The signed-in user's id, in a method declared ``user=True`` (the bus's authorization
        interceptor has checked it already; a user-less call is refused here too)."""
        if self.user_id is None:
            raise BusError(Status.PERMISSION_DENIED, "This needs a signed-in user, not a client.")
        return self.user_id


ANONYMOUS = Principal()


@dataclass(frozen=True, slots=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_after: float  # seconds until the limit is whole again
    retry_after: float  # seconds until the next request is allowed (0 when allowed)


@dataclass(slots=True)
class CallContext:
    """Carried through every bus call; nested calls pass it on (same deadline)."""

    principal: Principal = ANONYMOUS
    deadline: float | None = None  # absolute, time.monotonic()
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    idempotency_key: str | None = None
    client_ip: str | None = None
    # Filled by interceptors for the adapter that started the call.
    rate_limit: RateLimitState | None = None
    cache_status: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    depth: int = 0

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def nested(self) -> CallContext:
        """A context for a call made by a servicer: same caller and deadline, no key."""
        return replace(self, idempotency_key=None, rate_limit=None, cache_status=None, depth=self.depth + 1)

    def with_principal(self, principal: Principal) -> CallContext:
        return replace(self, principal=principal)


CREDENTIALS_ATTR = "credential_headers"


def reads_credentials(*headers: str) -> Callable[[F], F]:
    """Declare the request headers an authenticator reads credentials from.

    The kernel answers public cached reads to requests that carry none of the declared
    headers without running the authenticators (kernel.web.shortpath): such a caller is
    anonymous. While any authenticator declares nothing, that short path is off.
    """

    def mark(fn: F) -> F:
        setattr(fn, CREDENTIALS_ATTR, tuple(headers))
        return fn

    return mark
