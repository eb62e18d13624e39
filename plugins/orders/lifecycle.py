"""The order lifecycle: which action may move an order from which status, and where to.

    pending ──pay──▶ paid ──fulfil──▶ fulfilled ──fulfil──▶ fulfilled (another parcel)
    paid ──cancel (shopper)──▶ refunded          (restock + full refund; not once fulfilled)
    paid | fulfilled | partially_refunded ──refund (admin)──▶ partially_refunded | refunded

``awaiting_payment`` (card payment intents) and ``cancelled`` (an unpaid order
released) belong to the payment flow. Anything else is refused with 409 and a
reason naming the action and the status.
"""

from __future__ import annotations

from kernel.core.status import BusError, Status

# action -> {from status: to status}; "*" keeps the status it had.
TRANSITIONS: dict[str, dict[str, str]] = {
    "fulfil": {"paid": "fulfilled", "fulfilled": "fulfilled", "partially_refunded": "partially_refunded"},
    "refund": {"paid": "*", "fulfilled": "*", "partially_refunded": "*"},
    "cancel": {"paid": "refunded"},
}
REASONS = {"fulfil": "ORDER_NOT_FULFILLABLE", "refund": "ORDER_NOT_REFUNDABLE", "cancel": "ORDER_NOT_CANCELLABLE"}


def check_transition(status: str, action: str) -> str:
    """The status after ``action``, or a 409 (FAILED_PRECONDITION) naming why not."""
    to = TRANSITIONS[action].get(status)
    if to is None:
        raise BusError(Status.FAILED_PRECONDITION, f"An order that is {status} cannot be {_past(action)}.",
                       reason=REASONS[action])
    return status if to == "*" else to


def status_after_refund(total_minor: int, refunded_minor: int) -> str:
    return "refunded" if refunded_minor >= total_minor else "partially_refunded"


def _past(action: str) -> str:
    return {"fulfil": "fulfilled", "refund": "refunded", "cancel": "cancelled"}[action]
