"""The test provider's own endpoints over the bus (REST routes are declared in __init__)."""

from __future__ import annotations

from typing import Any

from kernel.core.context import CallContext
from kernel.core.status import BusError, Status

from .contract import ActionDone, CardToken, CompleteAction, TokenizeCard


class TestProviderServicer:
    __test__ = False

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    async def tokenize(self, req: TokenizeCard, ctx: CallContext) -> CardToken:
        token, brand, last4 = await self.provider.make_token(req.number, req.exp_month, req.exp_year)
        return CardToken(token=token, brand=brand, last4=last4)

    async def complete_action(self, req: CompleteAction, ctx: CallContext) -> ActionDone:
        done = await self.provider.db.fetchval(
            "UPDATE testpay_token SET action_done = true WHERE token = $1 AND outcome = 'requires_action' "
            "RETURNING token", req.token)
        if done is None:
            raise BusError(Status.NOT_FOUND, "no pending action for this token", reason="ACTION_NOT_FOUND")
        return ActionDone(token=req.token, done=True)
