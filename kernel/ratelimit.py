"""Rate limits: GCRA in one atomic Redis round trip.

Each class (``login``, ``write``, ``topup`` ...) has a rate (requests per period)
and a burst. Keys are per principal when signed in, else per client address.
When Redis is down the configured outage policy decides: ``allow`` (keep selling)
or ``deny`` (fail closed with 503).
"""

from __future__ import annotations

from dataclasses import dataclass

from .context import RateLimitState
from .redis_link import RedisDown, RedisLink

# GCRA: the theoretical arrival time (TAT) per key; allow when TAT - now <= burst window.
_GCRA = """
local key = KEYS[1]
local emission = tonumber(ARGV[1])   -- ms between requests at the sustained rate
local burst = tonumber(ARGV[2])      -- requests allowed at once
local now = tonumber(ARGV[3])        -- ms
local t = redis.call('TIME')
now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', key) or now)
if tat < now then tat = now end
local tolerance = emission * burst
local new_tat = tat + emission
local allow_at = new_tat - tolerance
if allow_at > now then
  local remaining = 0
  return {0, remaining, tat - now, allow_at - now}
end
redis.call('SET', key, new_tat, 'PX', math.ceil(new_tat - now) + 1000)
local remaining = math.floor((tolerance - (new_tat - now)) / emission)
return {1, remaining, new_tat - now, 0}
"""


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
        if redis is not None:
            self._script = redis.client.register_script(_GCRA)

    async def hit(self, class_name: str, identity: str) -> RateLimitState | None:
        """Count one request. None when the class is unknown or unlimited."""
        rc = self.classes.get(class_name)
        if rc is None or rc.limit <= 0:
            return None
        if self.redis is None:
            return None
        emission = rc.period * 1000 / rc.limit
        key = self.redis.key(f"rl:{rc.name}:{identity}")
        try:
            allowed, remaining, reset_ms, retry_ms = await self.redis.run(
                lambda r: self._script(keys=[key], args=[emission, rc.limit, 0], client=r)
            )
        except RedisDown as exc:
            if self.outage_policy == "deny":
                raise RateLimitUnavailable(str(exc)) from exc
            return None
        return RateLimitState(
            limit=rc.limit,
            remaining=max(int(remaining), 0),
            reset_after=max(float(reset_ms) / 1000, 0.0),
            retry_after=0.0 if allowed else max(float(retry_ms) / 1000, 0.001),
        )
