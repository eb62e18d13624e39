"""gRPC status names, their HTTP mapping, and the one error type the bus raises."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class Status(enum.IntEnum):
    """gRPC's status codes, with gRPC's numbers."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


HTTP_STATUS: dict[Status, int] = {
    Status.OK: 200,
    Status.CANCELLED: 499,
    Status.UNKNOWN: 500,
    Status.INVALID_ARGUMENT: 400,
    Status.DEADLINE_EXCEEDED: 504,
    Status.NOT_FOUND: 404,
    Status.ALREADY_EXISTS: 409,
    Status.PERMISSION_DENIED: 403,
    Status.RESOURCE_EXHAUSTED: 429,
    Status.FAILED_PRECONDITION: 409,
    Status.ABORTED: 409,
    Status.OUT_OF_RANGE: 400,
    Status.UNIMPLEMENTED: 501,
    Status.INTERNAL: 500,
    Status.UNAVAILABLE: 503,
    Status.DATA_LOSS: 500,
    Status.UNAUTHENTICATED: 401,
}

TITLES: dict[Status, str] = {
    Status.OK: "OK",
    Status.CANCELLED: "Request cancelled",
    Status.UNKNOWN: "Internal error",
    Status.INVALID_ARGUMENT: "Invalid request",
    Status.DEADLINE_EXCEEDED: "Deadline exceeded",
    Status.NOT_FOUND: "Not found",
    Status.ALREADY_EXISTS: "Already exists",
    Status.PERMISSION_DENIED: "Permission denied",
    Status.RESOURCE_EXHAUSTED: "Too many requests",
    Status.FAILED_PRECONDITION: "Request cannot be carried out",
    Status.ABORTED: "Conflict, try again",
    Status.OUT_OF_RANGE: "Out of range",
    Status.UNIMPLEMENTED: "Not implemented",
    Status.INTERNAL: "Internal error",
    Status.UNAVAILABLE: "Service unavailable",
    Status.DATA_LOSS: "Internal error",
    Status.UNAUTHENTICATED: "Authentication required",
}

# Statuses whose message may carry internals: never shown to clients as-is.
HIDDEN = frozenset({Status.UNKNOWN, Status.INTERNAL, Status.DATA_LOSS})


class BusError(Exception):
    """A failed bus call: a status, a human message, a stable reason, field errors."""

    def __init__(
        self,
        status: Status,
        message: str,
        *,
        reason: str | None = None,
        field_errors: Sequence[tuple[str, str]] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.field_errors = tuple(field_errors)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"BusError({self.status.name}, {self.message!r}, reason={self.reason!r})"

    @property
    def public_message(self) -> str:
        return TITLES[self.status] if self.status in HIDDEN else self.message


def invalid(field: str, message: str) -> BusError:
    """Shorthand for INVALID_ARGUMENT on one field."""
    return BusError(Status.INVALID_ARGUMENT, f"{field} {message}", field_errors=[(field, message)])


def not_found(what: str) -> BusError:
    return BusError(Status.NOT_FOUND, f"{what} not found")


def precondition(reason: str, message: str) -> BusError:
    return BusError(Status.FAILED_PRECONDITION, message, reason=reason)
