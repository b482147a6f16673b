"""The rate limiter in front of the app: which bucket a request takes from, and
the ``X-RateLimit-*`` headers of its answer.

An authenticated request counts against its key (or token subject); any other —
no credential, a wrong one, or auth off — against its client address, so a client
that invents a new key for each request is limited like any anonymous one. The
caller is found by the `Authenticator`, whose answer the request keeps: the route
behind does not authenticate it again. IPv6 clients count per /64, the block one
host is usually given. The address is the one uvicorn reports: behind a proxy,
uvicorn takes it from ``X-Forwarded-For`` when the proxy is trusted
(``FORWARDED_ALLOW_IPS``).

Every answer carries ``X-RateLimit-Limit`` (the burst), ``X-RateLimit-Remaining``
and ``X-RateLimit-Reset`` (Unix seconds when the bucket is full again, as GitHub
sends it); a refused one is 429 with ``Retry-After``. A WebSocket connection
takes from the same bucket; a refused one is closed before it is accepted (the
handshake is answered 403). Health endpoints are never limited, so probes keep
working under load.
"""

from __future__ import annotations

__all__ = ["RateLimits", "client_address"]

import ipaddress
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitorx.server.auth import Authenticator
from monitorx.server.errors import problem
from monitorx.server.rate_limits.buckets import Buckets, Decision

IPV6_PREFIX = 64  # addresses in one /64 share a bucket
POLICY_VIOLATION = 1008  # the WebSocket close code for a refused connection


def client_address(scope: Scope) -> str:
    """The bucket name of a request's client address: the IPv4 address, or the
    IPv6 /64 it is in."""
    client = scope.get("client")
    if not client:
        return "unknown"
    host: str = client[0]
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))


class RateLimits:
    def __init__(
        self,
        app: ASGIApp,
        buckets: Buckets,
        auth: Authenticator,
        exempt_prefix: str,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.buckets = buckets
        self.auth = auth
        self.exempt_prefix = exempt_prefix
        self._wall_clock = wall_clock
        self._limit = str(buckets.burst).encode()

    def bucket(self, scope: Scope) -> str:
        principal = self.auth.identify(scope)
        if principal is not None:
            return "id:" + principal.name
        return "addr:" + client_address(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        decision = await self.buckets.take(self.bucket(scope))
        if kind == "websocket":
            if decision.allowed:
                await self.app(scope, receive, send)
            else:  # closed before it is accepted: the handshake is answered 403
                await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return
        headers = self._headers(decision)
        if not decision.allowed:
            retry_after = max(1, math.ceil(decision.retry_after_s))
            response = problem(429, "rate_limited", f"too many requests; retry in {retry_after} s")
            response.raw_headers.extend(headers)
            response.raw_headers.append((b"retry-after", str(retry_after).encode()))
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, decision: Decision) -> list[tuple[bytes, bytes]]:
        reset = math.ceil(self._wall_clock() + decision.reset_s)
        return [
            (b"x-ratelimit-limit", self._limit),
            (b"x-ratelimit-remaining", str(decision.remaining).encode()),
            (b"x-ratelimit-reset", str(reset).encode()),
        ]
