"""Per-client rate limits: a token bucket per API key, bearer token or address.

Off by default (`MONITORX_RATE_LIMIT_PER_S` = 0). A client past its budget gets
429 with ``Retry-After`` saying when a request will be accepted again. Health
endpoints are never limited, so probes keep working under load.
"""

from __future__ import annotations

__all__ = ["RateLimits", "TokenBuckets"]

import hashlib
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from monitorx.server.errors import problem

# Buckets untouched this long are forgotten, which bounds memory.
_IDLE_S = 600.0


class TokenBuckets:
    """``rate`` tokens a second, up to ``burst``, per key."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._last_sweep = now()

    def take(self, key: str) -> float:
        """0 when the request may go; else the seconds until it could."""
        now = self._now()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / self.rate
        if now - self._last_sweep > _IDLE_S:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < _IDLE_S}
            self._last_sweep = now
        return wait


def _client_key(scope: Scope) -> str:
    headers = dict(scope["headers"])
    secret = headers.get(b"x-api-key") or headers.get(b"authorization")
    if secret:
        # Keyed by a digest: the credential itself is never kept.
        return "cred:" + hashlib.sha256(secret).hexdigest()[:32]
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


class RateLimits:
    def __init__(self, app: ASGIApp, buckets: TokenBuckets, exempt_prefix: str) -> None:
        self.app = app
        self.buckets = buckets
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.exempt_prefix):
            wait = self.buckets.take(_client_key(scope))
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                response = problem(
                    429, "rate_limited", f"too many requests; retry in {retry_after} s"
                )
                response.headers["Retry-After"] = str(retry_after)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
