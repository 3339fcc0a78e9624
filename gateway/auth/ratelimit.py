"""Per-caller rate limits in Redis: a token bucket, one script call per request.

Each limit is a bucket of ``N`` requests per minute that refills continuously (GCRA,
the "generic cell rate algorithm": Redis keeps one timestamp per caller and limit, the
time at which the bucket would be full again). A caller may burst up to ``N`` at once
and is then let in again one request every ``60/N`` seconds, so ``Retry-After`` is
short and honest instead of "wait for the next minute". A write is checked against
both its limits in the same atomic script, and a refused request takes nothing from
either bucket.

Redis is not the system of record (DESIGN: losing it loses no data), so when it cannot
be reached the limiter lets requests through and logs a warning: availability first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.config import Settings
from gateway.errors import LimitExceeded

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PERIOD_MS = 60_000
# At most one "Redis is down" warning per this many seconds, not one per request.
_WARN_EVERY_S = 60.0

# KEYS: one bucket per limit; ARGV: each bucket's emission interval in milliseconds.
# Returns {0, 0} when allowed, else {wait in ms, the 1-based index of the full bucket}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[#ARGV])
local next_tat = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + tonumber(ARGV[i])
  local wait = new_tat - period - now
  if wait > 0 then return {wait, i} end
  next_tat[i] = new_tat
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, next_tat[i], 'PX', next_tat[i] - now)
end
return {0, 0}
"""

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    """A bucket: its setting's name (the problem's ``limit``) and requests per minute."""

    name: str
    per_minute: int


class RateLimiter:
    """Counts requests per caller; raises LimitExceeded (429) when a bucket is empty."""

    def __init__(
        self,
        redis: Redis | None,
        *,
        requests: Limit,
        writes: Limit,
        namespace: str = "budstikke:rate",
    ) -> None:
        self._redis = redis
        self._requests = requests
        self._writes = writes
        self._namespace = namespace
        self._script: Any = redis.register_script(_GCRA) if redis is not None else None
        self._warned_at = -math.inf

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis | None) -> RateLimiter:
        limited = settings.rate_limit_per_minute or settings.rate_limit_writes_per_minute
        if redis is None and limited:
            log.warning("no Redis configured: rate limits are off (set BUDSTIKKE_REDIS_URL)")
        return cls(
            redis,
            requests=Limit("BUDSTIKKE_RATE_LIMIT_PER_MINUTE", settings.rate_limit_per_minute),
            writes=Limit(
                "BUDSTIKKE_RATE_LIMIT_WRITES_PER_MINUTE", settings.rate_limit_writes_per_minute
            ),
        )

    async def hit(self, caller: str, *, method: str) -> None:
        """Count one request of ``caller``; LimitExceeded naming the limit when over it."""
        limits = [self._requests]
        if method.upper() in WRITE_METHODS:
            limits.append(self._writes)
        limits = [limit for limit in limits if limit.per_minute > 0]
        if self._script is None or not limits:
            return
        # The rate is part of the key: a changed setting starts fresh buckets rather than
        # reading timestamps computed at another rate.
        keys = [f"{self._namespace}:{limit.name}:{limit.per_minute}:{caller}" for limit in limits]
        # Whole milliseconds keep Lua's numbers exact; rounding down keeps the burst at
        # exactly ``per_minute`` (config caps it at 60 000, one per millisecond).
        intervals = [_PERIOD_MS // limit.per_minute for limit in limits]
        try:
            wait_ms, index = await self._script(keys=keys, args=[*intervals, _PERIOD_MS])
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return
        if int(index) == 0:
            return
        limit = limits[int(index) - 1]
        retry_after = max(1, math.ceil(float(wait_ms) / 1000))
        raise LimitExceeded(
            f"too many requests: at most {limit.per_minute} per minute "
            f"({limit.name}); try again in {retry_after} s",
            limit=limit.name,
            rate=True,
            retry_after=retry_after,
        )

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("rate limits skipped: Redis unreachable", error=repr(exc))
