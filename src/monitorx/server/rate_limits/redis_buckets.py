"""Buckets shared by every replica through Redis: one atomic script per request.

The script is `buckets.gcra` in Lua, on Redis' own clock (``TIME``), so replicas
whose clocks differ still share one bucket; times are whole microseconds, which a
Lua number (a double) holds exactly. A bucket is one key, ``<prefix>rl:<bucket>``,
that expires once the bucket is full again.

Two things keep the cost down. A refused client is remembered here until Redis
said it may retry, so a client hammering past its limit costs no round trip. And
when Redis fails (refused, timed out, an error) the request is decided by this
process' own buckets — it is never refused or answered 5xx because Redis is away —
Redis is left alone for `RETRY_AFTER_S`, and the health check says ``degraded``
until Redis answers again.
"""

from __future__ import annotations

__all__ = ["RETRY_AFTER_S", "RedisBuckets", "describe_redis_url"]

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from monitorx.core.health import Check, Health
from monitorx.server.rate_limits.buckets import SWEEP_EVERY_S, Decision, MemoryBuckets

log = logging.getLogger(__name__)

# After Redis failed, requests are decided in this process for this long before
# Redis is tried again: a down Redis costs one failed attempt a second, not one a request.
RETRY_AFTER_S = 1.0
# How long one Redis call may take. The limiter sits in front of every request:
# a Redis that hangs must not hang them.
REDIS_TIMEOUT_S = 0.25

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), new_tat - now, 0}
"""
_US = 1_000_000


def describe_redis_url(url: str) -> str:
    """``host:port/db`` of a Redis URL, for logs and health: never its credentials."""
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    return where + (parts.path if parts.path not in ("", "/") else "/0")


class RedisBuckets:
    """Buckets in Redis, shared by every process that uses the same ``prefix``."""

    def __init__(
        self,
        client: Redis,
        prefix: str,
        rate: float,
        burst: int,
        where: str = "Redis",
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._prefix = prefix + "rl:"
        self._burst = burst
        self._interval_us = max(1, round(_US / rate))
        self._where = where
        self._now = now
        self._script = client.register_script(_GCRA)
        # Requests are decided here while Redis is away.
        self.fallback = MemoryBuckets(rate, burst, now)
        # bucket -> (refused until, full at), on this process' clock.
        self._refused: dict[str, tuple[float, float]] = {}
        self._next_sweep = now() + SWEEP_EVERY_S
        self._down_until = 0.0
        self._failure: str | None = None  # why Redis is taken to be away

    @classmethod
    def from_url(cls, url: str, prefix: str, rate: float, burst: int) -> RedisBuckets:
        client = Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            # No retries: a failed call falls back at once (and Redis is retried later).
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, prefix, rate, burst, where=describe_redis_url(url))

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def available(self) -> bool:
        """Whether the last word from Redis was an answer (not a failure)."""
        return self._failure is None

    async def take(self, bucket: str) -> Decision:
        now = self._now()
        refused = self._refused.get(bucket)
        if refused is not None:
            until, full_at = refused
            if now < until:
                return Decision(False, self._burst, 0, full_at - now, until - now)
            del self._refused[bucket]
        if now < self._down_until:
            return self.fallback.take_now(bucket)
        try:
            answer = await self._script(
                keys=[self._prefix + bucket], args=[self._interval_us, self._burst]
            )
        except (RedisError, OSError) as exc:
            self._went_away(exc, now)
            return self.fallback.take_now(bucket)
        if self._failure is not None:
            self._came_back()
        allowed, remaining, reset_us, retry_us = (int(x) for x in answer)
        decision = Decision(bool(allowed), self._burst, remaining, reset_us / _US, retry_us / _US)
        if not decision.allowed:
            self._refused[bucket] = (now + decision.retry_after_s, now + decision.reset_s)
        if now >= self._next_sweep:
            self._refused = {k: v for k, v in self._refused.items() if v[0] > now}
            self._next_sweep = now + SWEEP_EVERY_S
        return decision

    def _went_away(self, exc: Exception, now: float) -> None:
        self._down_until = now + RETRY_AFTER_S
        if self._failure is None:
            log.warning(
                "Redis at %s failed (%s): rate limits are kept per process until it answers",
                self._where,
                exc,
            )
        self._failure = f"{type(exc).__name__}: {exc}"

    def _came_back(self) -> None:
        log.warning("Redis at %s answers again: rate limits are shared again", self._where)
        self._failure = None
        self._down_until = 0.0

    async def check(self) -> Check:
        """Pings Redis: ``degraded`` (limits per process) while it does not answer."""
        started = time.perf_counter()
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            self._went_away(exc, self._now())
        else:
            if self._failure is not None:
                self._came_back()
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            return Check(
                Health.HEALTHY,
                "",
                {"backend": "redis", "redis": self._where, "latency_ms": latency_ms},
            )
        reason = (
            f"Redis at {self._where} does not answer ({self._failure}): each process "
            "limits on its own until it does"
        )
        return Check(Health.DEGRADED, reason, {"backend": "redis", "redis": self._where})

    async def close(self) -> None:
        await self._client.aclose()
