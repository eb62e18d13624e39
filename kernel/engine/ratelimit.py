"""Rate limits: GCRA in one atomic Redis round trip.

Each class (``login``, ``write``, ``topup`` ...) has a rate (requests per period)
and a burst. Keys are per principal when signed in, else per client address.
When Redis is down the configured outage policy decides: ``allow`` (keep selling)
or ``deny`` (fail closed with 503).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..core.context import RateLimitState
from ..storage.redis_link import RedisDown, RedisLink

# GCRA: the theoretical arrival time (TAT) per key. One call takes up to ARGV[3]
# tokens at once (a lease); it grants as many as the burst window has room for.
_GCRA = """
local key = KEYS[1]
local emission = tonumber(ARGV[1])   -- ms between requests at the sustained rate
local burst = tonumber(ARGV[2])      -- requests allowed at once
local want = tonumber(ARGV[3])       -- tokens asked for
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local tolerance = emission * burst
local room = math.floor((tolerance - (tat - now)) / emission)
if room < 1 then
  return {0, 0, math.ceil(tat - now), math.ceil(tat + emission - tolerance - now)}
end
local granted = math.min(want, room)
local new_tat = tat + granted * emission
redis.call('SET', key, new_tat, 'PX', math.ceil(new_tat - now) + 1000)
local remaining = math.floor((tolerance - (new_tat - now)) / emission)
return {granted, remaining, math.ceil(new_tat - now), 0}
"""

# A lease lives this long: tokens not spent by then are simply not used, so a
# process never holds on to capacity another process could use.
LEASE_SECONDS = 0.5


class _Lease:
    """Tokens held locally until ``expires``; with no tokens and ``denied``, a refusal
    remembered until the limit lets the next request through."""

    __slots__ = ("denied", "expires", "remaining", "reset_after", "tokens")

    def __init__(self, tokens: int, expires: float, remaining: int, reset_after: float, denied: bool = False) -> None:
        self.tokens = tokens
        self.expires = expires
        self.remaining = remaining
        self.reset_after = reset_after
        self.denied = denied


@dataclass(frozen=True, slots=True)
class RateClass:
    name: str
    limit: int  # requests per period (also the burst)
    period: float  # seconds


class RateLimitUnavailable(Exception):
    pass


class RateLimiter:
    def __init__(self, redis: RedisLink | None, classes: dict[str, RateClass], outage_policy: str = "allow") -> None:
        self.redis = redis
        self.classes = classes
        self.outage_policy = outage_policy
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._fetching: dict[tuple[str, str], asyncio.Future[None]] = {}
        if redis is not None:
            self._script = redis.client.register_script(_GCRA)

    @staticmethod
    def lease_size(rc: RateClass) -> int:
        """Tokens taken from Redis per round trip: exact for small limits (login: 1 by 1),
        batched for large ones, so a busy read path does not pay a round trip per request."""
        return max(1, min(100, rc.limit // 100))

    async def hit(self, class_name: str, identity: str) -> RateLimitState | None:
        """Count one request. None when the class is unknown or unlimited."""
        rc = self.classes.get(class_name)
        if rc is None or rc.limit <= 0:
            return None
        if self.redis is None:
            return None
        lease_key = (rc.name, identity)
        while True:
            now = time.monotonic()
            lease = self._leases.get(lease_key)
            if lease is not None and lease.expires > now:
                if lease.tokens > 0:
                    lease.tokens -= 1
                    # min: GCRA's floor on a huge limit can round one above it
                    return RateLimitState(limit=rc.limit, remaining=min(rc.limit, lease.remaining + lease.tokens),
                                          reset_after=lease.reset_after, retry_after=0.0)
                if lease.denied:
                    return RateLimitState(limit=rc.limit, remaining=0, reset_after=lease.reset_after,
                                          retry_after=max(lease.expires - now, 0.001))
            pending = self._fetching.get(lease_key)
            if pending is None:
                break
            # Another request is renewing this lease: wait for it rather than all asking Redis.
            await asyncio.shield(pending)
        fetch: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._fetching.setdefault(lease_key, fetch)
        try:
            return await self._take(rc, identity, lease_key, now)
        finally:
            if self._fetching.get(lease_key) is fetch:
                del self._fetching[lease_key]
            fetch.set_result(None)

    async def _take(self, rc: RateClass, identity: str, lease_key: tuple[str, str], now: float) -> RateLimitState | None:
        assert self.redis is not None
        emission = rc.period * 1000 / rc.limit
        key = self.redis.key(f"rl:{rc.name}:{identity}")
        want = self.lease_size(rc)
        try:
            granted, remaining, reset_ms, retry_ms = await self.redis.run(
                lambda r: self._script(keys=[key], args=[emission, rc.limit, want], client=r)
            )
        except RedisDown as exc:
            if self.outage_policy == "deny":
                raise RateLimitUnavailable(str(exc)) from exc
            return None
        reset_after = max(float(reset_ms) / 1000, 0.0)
        if int(granted) > 1:
            if len(self._leases) > 10_000:
                self._leases = {k: v for k, v in self._leases.items() if v.expires > now}
            self._leases[lease_key] = _Lease(int(granted) - 1, now + LEASE_SECONDS, max(int(remaining), 0), reset_after)
        elif int(granted) == 0:
            retry_after = max(float(retry_ms) / 1000, 0.001)
            self._leases[lease_key] = _Lease(0, now + min(retry_after, LEASE_SECONDS), 0, reset_after, denied=True)
        else:
            self._leases.pop(lease_key, None)
        return RateLimitState(
            limit=rc.limit,
            remaining=min(rc.limit, max(int(remaining), 0) + max(int(granted) - 1, 0)),
            reset_after=reset_after,
            retry_after=0.0 if int(granted) > 0 else max(float(retry_ms) / 1000, 0.001),
        )
