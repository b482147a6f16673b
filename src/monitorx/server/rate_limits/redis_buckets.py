"""Buckets shared by every replica through Redis: one atomic script per request.

The script is `buckets.gcra` in Lua, on Redis' own clock (``TIME``), so replicas
whose clocks differ still share one bucket; times are whole microseconds, which a
Lua number (a double) holds exactly. A bucket is one key, ``<prefix>rl:<bucket>``,
that expires once the bucket is full again.

What keeps the cost down: requests that arrive together share a round trip (the
script calls waiting when one round trip ends go out in one pipeline, see
`ScriptBatches`), and a refused client is remembered here until Redis said it may
retry, so a client hammering past its limit costs no round trip at all.

When Redis fails (refused, timed out, an error) the request is decided by this
process' own buckets — it is never refused or answered 5xx because Redis is away —
Redis is left alone for `RETRY_AFTER_S`, and the health check says ``degraded``
until Redis answers again.
"""

from __future__ import annotations

__all__ = ["RETRY_AFTER_S", "RedisBuckets", "ScriptBatches", "describe_redis_url"]

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

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


Answer = list[int]  # allowed, remaining, reset (µs), retry after (µs)


class ScriptBatches:
    """Calls of the limiter's script, sent in batches. A call that finds no round
    trip under way goes at once, alone; calls that arrive while one is under way
    wait for it, then go out together in one pipeline (one write, one read: most
    of redis-py's cost is per round trip). One task sends the batches, started on
    first use, stopped by `close`."""

    def __init__(self, client: Redis, args: Sequence[int]) -> None:
        self._client = client
        self._args = tuple(args)
        self._sha = client.register_script(_GCRA).sha
        self._waiting: list[tuple[str, asyncio.Future[Answer]]] = []
        self._in_flight = False
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self.calls = 0  # script calls asked for
        self.round_trips = 0  # and the round trips that answered them

    async def call(self, key: str) -> Answer:
        """The script's answer for ``key``; raises what its round trip raised."""
        self.calls += 1
        if not self._in_flight and not self._waiting:
            self._in_flight = True
            try:
                (answer,) = await self._round_trip([key])
            finally:
                self._in_flight = False
                if self._waiting:
                    self._wake.set()
            if isinstance(answer, Exception):
                raise answer
            return answer
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_forever())
        waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, waiter))
        if not self._in_flight:
            self._wake.set()
        return await waiter

    async def _send_forever(self) -> None:
        batch: list[tuple[str, asyncio.Future[Answer]]] = []
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._in_flight or not self._waiting:
                    continue  # the round trip under way wakes this when it ends
                batch, self._waiting = self._waiting, []
                self._in_flight = True
                try:
                    answers = await self._round_trip([key for key, _ in batch])
                except Exception as exc:  # every waiter gets it: none may hang
                    answers = [exc] * len(batch)
                finally:
                    self._in_flight = False
                for (_, waiter), answer in zip(batch, answers, strict=True):
                    if waiter.done():  # its request went away meanwhile
                        continue
                    if isinstance(answer, Exception):
                        waiter.set_exception(answer)
                    else:
                        waiter.set_result(answer)
                batch = []
                if self._waiting:
                    self._wake.set()
        finally:  # stopped (the server shuts down): nobody waits for ever
            for _, waiter in batch + self._waiting:
                waiter.cancel()

    async def _round_trip(self, keys: list[str]) -> list[Answer | Exception]:
        for _ in range(2):  # again once after loading the script (a restarted Redis)
            self.round_trips += 1
            if len(keys) == 1:
                try:
                    return [await self._client.evalsha(self._sha, 1, keys[0], *self._args)]
                except NoScriptError:
                    pass
            else:
                pipe = self._client.pipeline(transaction=False)
                for key in keys:
                    pipe.evalsha(self._sha, 1, key, *self._args)
                answers: list[Answer | Exception] = await pipe.execute(raise_on_error=False)
                if not any(isinstance(a, NoScriptError) for a in answers):
                    return answers
            await self._client.script_load(_GCRA)
        raise RedisError("the rate-limit script is not loaded after loading it")

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None


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
        self.batches = ScriptBatches(client, (self._interval_us, burst))
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
            answer = await self.batches.call(self._prefix + bucket)
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
        await self.batches.close()
        await self._client.aclose()
