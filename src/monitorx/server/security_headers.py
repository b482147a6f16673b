"""Security headers on every answer: a Content-Security-Policy, no MIME sniffing,
no framing, and HSTS on answers that went over TLS.

The policy admits what the dashboard and ``/docs`` load, all from this server:
scripts from files only (neither page has an inline script or event-handler
attribute, and none calls ``eval``), styles from files and inline (Plotly and
Swagger UI set ``style`` attributes and inject style elements), images also as
``data:`` and ``blob:`` URLs (Swagger UI's icons, chart downloads), and
connections back to this origin (the REST API and the live WebSocket; CSP 3
counts ``ws:``/``wss:`` on the same host as ``'self'``). Nothing may frame a page,
and forms post nowhere else.

HSTS goes only on an answer that came over HTTPS — ``monitorx serve
--ssl-certfile``, or a trusted proxy's ``X-Forwarded-Proto: https`` — since
browsers ignore it over plain HTTP (RFC 6797 §8.1).
"""

from __future__ import annotations

__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeaders"]

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors' older spelling
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts_max_age_s: int) -> None:
        self.app = app
        self.plain = list(_HEADERS)
        self.over_tls = list(_HEADERS)
        if hsts_max_age_s > 0:
            hsts = f"max-age={hsts_max_age_s}".encode()
            self.over_tls.append((b"strict-transport-security", hsts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.over_tls if scope.get("scheme") == "https" else self.plain

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
