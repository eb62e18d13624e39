"""The test payment provider's own endpoints (it plays the card network and the hosted card field).

Test cards (any future expiry, any 3-4 digit CVC):

=====================  ==========================================================
4242424242424242       succeeds (as does any other Luhn-valid number)
4000002500003155       requires an extra step (like 3-D Secure): complete it, confirm again
4000000000000002       declined: reason CARD_DECLINED
4000000000009995       declined (insufficient funds): reason CARD_DECLINED
4000000000000119       processing error: 503, reason CARD_PROCESSING_ERROR
=====================  ==========================================================
"""

from __future__ import annotations

from kernel.core.messages import constraint, message
from kernel.core.service import Service, rpc

SUCCEED = "4242424242424242"
REQUIRES_ACTION = "4000002500003155"
DECLINED = "4000000000000002"
INSUFFICIENT = "4000000000009995"
PROCESSING_ERROR = "4000000000000119"


@message
class TokenizeCard:
    number: str = constraint(min_len=12, max_len=23)
    exp_month: int = constraint(min=1, max=12)
    exp_year: int = constraint(min=2000, max=2200)
    cvc: str = constraint(min_len=3, max_len=4, pattern=r"[0-9]{3,4}")


@message(graphql="TestCardToken")
class CardToken:
    """A test card turned into a payment token (brand and last 4 only are kept)."""

    token: str
    brand: str
    last4: str


@message
class CompleteAction:
    token: str = constraint(min_len=1, max_len=100)


@message(graphql="TestActionDone")
class ActionDone:
    token: str
    done: bool


class TestProvider(Service, package="shop.testpay.v1"):
    __test__ = False  # not a pytest test class

    tokenize = rpc(TokenizeCard, CardToken, rate_limit="write")
    complete_action = rpc(CompleteAction, ActionDone, rate_limit="write")
