"""Failure throttling for sign-in, sign-up and the token endpoint, without locking anyone out.

Failures are counted in three fixed windows: per (account, address), per address,
and per account. The first two are tight and stop one address guessing; the
account ceiling is much higher and, once reached, refuses only addresses that
have never succeeded for that account, so an attacker spraying failures from
many addresses cannot lock the real user (or client) out of a place they used
before, and a correct password from a fresh address works until the account's
ceiling is reached. Successful attempts are not counted.

"Account" is the lower-cased email (hashed) for sign-in and sign-up, the client_id
for the token endpoint; "address" is the client address the kernel resolved
(``CallContext.client_ip``, which honours ``SHOP_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from kernel.storage.redis_link import RedisDown, RedisLink

log = logging.getLogger("shop.plugins.auth")

KNOWN_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class Limits:
    per_pair: int  # failures per (account, address) per window
    per_address: int  # failures per address (all accounts) per window
    per_account: int  # failures per account (all addresses) per window; much higher
    window: int  # seconds


def _h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class FailureThrottle:
    def __init__(self, redis: RedisLink | None, kind: str, limits: Limits, outage_policy: str = "allow") -> None:
        self.redis = redis
        self.kind = kind
        self.limits = limits
        self.outage_policy = outage_policy

    def _keys(self, account: str, address: str) -> tuple[str, str, str, str]:
        assert self.redis is not None
        a, ip = _h(account.lower()), _h(address)
        k = self.redis.key
        return (k(f"auth:fail:{self.kind}:pair:{a}:{ip}"), k(f"auth:fail:{self.kind}:ip:{ip}"),
                k(f"auth:fail:{self.kind}:acct:{a}"), k(f"auth:known:{self.kind}:{a}"))

    async def wait(self, account: str, address: str) -> int:
        """Seconds the caller must wait before trying (0: go ahead)."""
        if self.redis is None:
            return 0
        pair, ip, acct, known = self._keys(account, address)
        lim = self.limits

        async def look(r: object) -> list[object]:
            pipe = r.pipeline(transaction=False)  # type: ignore[attr-defined]
            for key in (pair, ip, acct):
                pipe.get(key)
                pipe.pttl(key)
            pipe.sismember(known, _h(address))
            return list(await pipe.execute())

        try:
            res = await self.redis.run(look)
        except RedisDown:
            return 2 if self.outage_policy == "deny" else 0
        counts = [int(res[i] or 0) for i in (0, 2, 4)]
        ttls = [int(res[i]) for i in (1, 3, 5)]
        is_known = bool(res[6])
        over = [counts[0] >= lim.per_pair, counts[1] >= lim.per_address, counts[2] >= lim.per_account and not is_known]
        waits = [max(1, (ttl + 999) // 1000) if o else 0 for o, ttl in zip(over, ttls, strict=True)]
        return max(waits)

    async def failed(self, account: str, address: str) -> None:
        if self.redis is None:
            return
        keys = self._keys(account, address)[:3]
        window = self.limits.window

        async def count(r: object) -> None:
            pipe = r.pipeline(transaction=False)  # type: ignore[attr-defined]
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()

        try:
            await self.redis.run(count)
        except RedisDown:
            log.warning("auth_failure_not_counted", extra={"kind": self.kind})

    async def succeeded(self, account: str, address: str) -> None:
        """Remember the address as known for the account; forget its failures there."""
        if self.redis is None:
            return
        pair, _ip, _acct, known = self._keys(account, address)

        async def remember(r: object) -> None:
            pipe = r.pipeline(transaction=False)  # type: ignore[attr-defined]
            pipe.delete(pair)
            pipe.sadd(known, _h(address))
            pipe.expire(known, KNOWN_ADDRESS_DAYS * 86400)
            await pipe.execute()

        try:
            await self.redis.run(remember)
        except RedisDown:
            pass
