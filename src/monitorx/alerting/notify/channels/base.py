"""What every channel is and shares: the protocol, its result and error, one HTTP send.

A channel turns a `Notification` into the requests its receiver understands and
reports what came back. It does not retry, wait or rate-limit: the delivery queue
above it does, guided by `ChannelError.retryable` and ``retry_after_s``. Success is a
`DeliveryResult`; any failure raises `ChannelError`, whose message names the channel,
the receiver, the status and an excerpt of the answer — with the channel's secrets
scrubbed out, since the text ends up in logs and in API answers.
"""

from __future__ import annotations

__all__ = [
    "BODY_EXCERPT_CHARS",
    "Channel",
    "ChannelConfig",
    "ChannelError",
    "DeliveryResult",
    "SupportsAcknowledge",
    "excerpt",
    "is_retryable_status",
    "post_json",
    "send_http",
    "user_agent",
]

import functools
import importlib.metadata
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from monitorx.alerting.notify.channels.redaction import scrub
from monitorx.alerting.notify.notification import Notification
from monitorx.core import Alert, DeliveryError
from monitorx.core.backoff import parse_retry_after

logger = logging.getLogger("monitorx.alerting.notify.channels")

# How much of a receiver's answer an error quotes: enough for Slack's
# "invalid_payload" or PagerDuty's error list, not a whole HTML error page.
BODY_EXCERPT_CHARS = 300
# Statuses worth retrying: timeouts, rate limits and server-side failures.
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """A notification the receiver accepted.

    ``requests`` counts what was sent (PagerDuty sends one event per alert; email
    one message); ``detail`` is a short, secret-free note (the answer's first words,
    or the recipients that were refused).
    """

    channel_type: str
    receiver: str
    status_code: int
    requests: int = 1
    detail: str = ""


class ChannelError(DeliveryError):
    """A notification that did not reach its receiver, or that it refused.

    ``status_code`` is the receiver's answer (an HTTP status, or an SMTP reply code)
    and None when nothing answered; ``body`` is a scrubbed excerpt of the answer.
    """

    def __init__(
        self,
        channel_type: str,
        receiver: str,
        reason: str,
        *,
        status_code: int | None = None,
        body: str = "",
        retryable: bool,
        retry_after_s: float | None = None,
    ) -> None:
        self.channel_type = channel_type
        self.receiver = receiver
        self.reason = reason
        self.status_code = status_code
        self.body = body
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        message = f"{channel_type} receiver {receiver!r}: {reason}"
        if body:
            message += f": {body}"
        super().__init__(message)

    def with_reason(self, reason: str) -> ChannelError:
        """The same failure, told differently (e.g. with how far a batch got)."""
        return ChannelError(
            self.channel_type,
            self.receiver,
            reason,
            status_code=self.status_code,
            body=self.body,
            retryable=self.retryable,
            retry_after_s=self.retry_after_s,
        )


def is_retryable_status(status_code: int) -> bool:
    return status_code >= 500 or status_code in _RETRYABLE_STATUSES


class ChannelConfig(Protocol):
    """A channel's parsed, validated config (a frozen dataclass per channel type)."""

    def public(self) -> dict[str, object]:
        """The config as an API may show it: the same keys, secrets redacted."""
        ...

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string, for scrubbing text that leaves the channel."""
        ...


class Channel(Protocol):
    """Sends notifications to one configured receiver."""

    @property
    def type(self) -> str:
        """The channel type's stable name: "webhook", "slack", "pagerduty", …"""
        ...

    def public_config(self) -> dict[str, object]:
        """The channel's config with its secrets redacted."""
        ...

    async def send(self, notification: Notification) -> DeliveryResult:
        """Deliver one notification; raise `ChannelError` when it did not arrive."""
        ...


@runtime_checkable
class SupportsAcknowledge(Protocol):
    """A channel that can tell its receiver an alert was acknowledged (PagerDuty)."""

    async def acknowledge(self, alert: Alert) -> DeliveryResult: ...


@functools.cache
def user_agent() -> str:
    try:
        version = importlib.metadata.version("monitorx")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    return f"MonitorX/{version}"


def excerpt(text: str, secrets: Iterable[str]) -> str:
    """The start of a receiver's answer, on one line, secrets scrubbed."""
    flat = " ".join(text.split())
    if len(flat) > BODY_EXCERPT_CHARS:
        flat = flat[:BODY_EXCERPT_CHARS] + "…"
    return scrub(flat, secrets)


def _retry_after_s(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


async def send_http(
    http: httpx.AsyncClient,
    *,
    channel_type: str,
    receiver: str,
    url: str,
    body: bytes,
    secrets: Iterable[str],
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one JSON body; return the 2xx answer or raise `ChannelError`.

    Redirects are not followed (the shared client's default): a 3xx from a webhook
    host is an error to see, not a reason to send its secret somewhere else.
    """
    secrets = tuple(secrets)
    all_headers = {"Content-Type": "application/json", "User-Agent": user_agent()}
    all_headers.update(headers or {})
    try:
        response = await http.request(method, url, content=body, headers=all_headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # `from None`: httpx's exception and its request carry the URL, a secret for
        # Slack and Teams; the scrubbed reason below says what went wrong.
        reason = f"unreachable: {type(exc).__name__}: {scrub(str(exc), secrets) or 'no detail'}"
        retryable = isinstance(exc, httpx.TransportError)
        raise ChannelError(channel_type, receiver, reason, retryable=retryable) from None
    if not response.is_success:
        raise ChannelError(
            channel_type,
            receiver,
            f"answered {response.status_code} {response.reason_phrase}".rstrip(),
            status_code=response.status_code,
            body=excerpt(response.text, secrets),
            retryable=is_retryable_status(response.status_code),
            retry_after_s=_retry_after_s(response),
        )
    return response


async def post_json(
    http: httpx.AsyncClient,
    *,
    channel_type: str,
    receiver: str,
    url: str,
    payload: object,
    secrets: Iterable[str],
) -> DeliveryResult:
    """POST ``payload`` as JSON to a chat webhook (Slack, Teams) and describe the answer."""
    secrets = tuple(secrets)
    body = json.dumps(payload, ensure_ascii=False).encode()
    response = await send_http(
        http, channel_type=channel_type, receiver=receiver, url=url, body=body, secrets=secrets
    )
    logger.debug("%s receiver %r took the message", channel_type, receiver)
    return DeliveryResult(
        channel_type, receiver, response.status_code, detail=excerpt(response.text, secrets)
    )
