"""How long to wait before trying again: exponential backoff with jitter, and
``Retry-After``. One policy for every retrying part of MonitorX — the SDK's clients
and background workers, and the delivery of notifications to channels.

Pure policy, no I/O: callers ask it and do the waiting themselves.

    >>> backoff = Backoff(initial_s=1.0, max_s=60.0, jitter=0.0)
    >>> [backoff.delay_s(attempt) for attempt in range(4)]
    [1.0, 2.0, 4.0, 8.0]
"""

from __future__ import annotations

__all__ = ["Backoff", "parse_retry_after"]

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Backoff:
    """Attempt ``n`` (0-based) waits ``initial_s × multiplier**n``, scaled by a
    random factor in ``[1 − jitter, 1 + jitter]`` so that many clients that failed
    together do not come back together, and capped at ``max_s``."""

    initial_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial_s) and self.initial_s >= 0):
            raise ValueError("the initial backoff must be a finite number >= 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def delay_s(self, attempt: int, random_value: float = 0.5) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based); ``random_value``
        is in ``[0, 1)`` (0.5 is the unjittered wait)."""
        base = self.initial_s * self.multiplier**attempt
        factor = 1.0 + self.jitter * (2.0 * random_value - 1.0)
        return min(self.max_s, base * factor)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
