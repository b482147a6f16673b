"""How often a channel may be sent to: sliding windows, all of which must hold.

A channel's limits are a tuple of `RateLimit` windows (none: unlimited). A send
that would take any window past its maximum waits until the oldest send leaves
that window: limited sends are delayed, never dropped. The defaults per channel
type follow each provider's documented limits (`channels.registry`,
docs/channels.md); a channel's own ``rate_limit`` replaces them.
"""

from __future__ import annotations

__all__ = ["ChannelRateLimiter", "RateLimit", "RateLimits"]

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``max_per_window`` sends in any sliding ``window_s`` seconds."""

    max_per_window: int
    window_s: float


RateLimits = tuple[RateLimit, ...]
"""Every window a channel's sends must fit; the empty tuple is no limit."""


class ChannelRateLimiter:
    """Send times of one channel, kept as long as its longest window."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._sent: deque[datetime] = deque()
        self._longest = timedelta(seconds=max((w.window_s for w in limits), default=0.0))

    def next_allowed(self, now: datetime) -> datetime:
        """When a send may happen: now, or when the last window it would overfill
        has let enough of its oldest sends go."""
        while self._sent and self._sent[0] <= now - self._longest:
            self._sent.popleft()
        allowed = now
        for limit in self.limits:
            window = timedelta(seconds=limit.window_s)
            inside = [t for t in self._sent if t > now - window]
            if len(inside) >= limit.max_per_window:
                # The send after which the window holds one fewer than its maximum.
                allowed = max(allowed, inside[len(inside) - limit.max_per_window] + window)
        return allowed

    def record(self, now: datetime) -> None:
        if self.limits:
            self._sent.append(now)
