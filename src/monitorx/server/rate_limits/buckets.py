"""Token buckets, kept as GCRA: one number per client, what a request takes.

A bucket holds up to ``burst`` requests and refills at ``rate`` a second. The
generic cell rate algorithm (GCRA) keeps it as one number, the theoretical arrival
time (TAT): the moment the bucket would be full again. A request at ``now`` is
admitted when ``max(TAT, now) + 1/rate - burst/rate <= now`` and then moves TAT on
by ``1/rate``. That is the same admission as a token bucket's, in one read and one
write, which is what lets `RedisBuckets` share it between replicas in one atomic
script. A bucket whose TAT has passed is full and can be forgotten.
"""

from __future__ import annotations

__all__ = ["Buckets", "Decision", "MemoryBuckets"]

import math
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from monitorx.core.health import Check, Health

# Buckets are swept this often; a full one (TAT passed) is dropped, which bounds memory.
SWEEP_EVERY_S = 60.0
# Float noise: 2.9999999 tokens left reads as 3.
_EPSILON = 1e-9


class Decision(NamedTuple):
    """What one request took: whether it may go, and the ``X-RateLimit-*`` figures.
    (A named tuple: made on every request, in a third of a frozen dataclass' time.)"""

    allowed: bool
    limit: int  # the bucket's size (the burst)
    remaining: int  # requests it still admits at once
    reset_s: float  # seconds until it is full again
    retry_after_s: float = 0.0  # for a refused one: seconds until one would be admitted


class Buckets(Protocol):
    """Where the buckets live: this process (`MemoryBuckets`) or Redis (`RedisBuckets`)."""

    @property
    def burst(self) -> int: ...

    async def take(self, bucket: str) -> Decision:
        """Take one request from ``bucket`` (made full on first use)."""
        ...

    async def check(self) -> Check:
        """How the buckets are doing, for ``/api/v1/health``."""
        ...

    async def close(self) -> None: ...


def gcra(tat: float, now: float, interval: float, burst: int) -> tuple[Decision, float]:
    """The decision for a request at ``now`` on a bucket with theoretical arrival
    time ``tat`` (``now`` for a full one), and the bucket's TAT after it."""
    start = max(tat, now)
    new_tat = start + interval
    allow_at = new_tat - burst * interval
    if now < allow_at:
        return Decision(False, burst, 0, start - now, allow_at - now), tat
    remaining = math.floor((now - allow_at) / interval + _EPSILON)
    return Decision(True, burst, remaining, new_tat - now), new_tat


class MemoryBuckets:
    """The buckets of this process alone: a dict of TATs on a monotonic clock."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self._burst = burst
        self._interval = 1.0 / rate
        self._now = now
        self._tats: dict[str, float] = {}
        self._next_sweep = now() + SWEEP_EVERY_S

    @property
    def burst(self) -> int:
        return self._burst

    def take_now(self, bucket: str) -> Decision:
        """`take`, without the coroutine (what `RedisBuckets` falls back on)."""
        now = self._now()
        decision, tat = gcra(self._tats.get(bucket, now), now, self._interval, self._burst)
        self._tats[bucket] = tat
        if now >= self._next_sweep:
            self._tats = {k: t for k, t in self._tats.items() if t > now}
            self._next_sweep = now + SWEEP_EVERY_S
        return decision

    async def take(self, bucket: str) -> Decision:
        return self.take_now(bucket)

    def __len__(self) -> int:
        """Buckets held (full ones may linger until the next sweep)."""
        return len(self._tats)

    async def check(self) -> Check:
        return Check(Health.HEALTHY, "", {"backend": "memory", "buckets": len(self._tats)})

    async def close(self) -> None:
        return None
