"""The generic webhook: Alertmanager's webhook JSON (version 4), optionally signed.

API.md's contract: ``config`` takes ``url`` (required), ``method`` (POST or PUT),
``headers`` and ``secret``; with a secret, each request carries
``X-MonitorX-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``, so a
receiver verifies the bytes it read before parsing them. The body is what an
Alertmanager webhook receiver already parses.
"""

from __future__ import annotations

__all__ = [
    "SIGNATURE_HEADER",
    "WEBHOOK_VERSION",
    "WebhookChannel",
    "WebhookConfig",
    "sign",
    "webhook_message",
]

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from monitorx.alerting.notify.channels.base import DeliveryResult, excerpt, logger, send_http
from monitorx.alerting.notify.channels.config import ConfigReader
from monitorx.alerting.notify.channels.redaction import (
    REDACTED,
    Secret,
    redact_url_credentials,
    url_credentials,
    url_secret_parts,
)
from monitorx.alerting.notify.channels.rendering import format_time
from monitorx.alerting.notify.notification import Notification, NotifiedAlert

WEBHOOK_VERSION = "4"
SIGNATURE_HEADER = "X-MonitorX-Signature"
METHODS = ("POST", "PUT")
# Headers the channel sets itself, or that the HTTP layer owns.
_RESERVED_HEADERS = frozenset(
    {"content-length", "content-type", "host", "transfer-encoding", SIGNATURE_HEADER.lower()}
)
# Header names whose values are credentials: shown redacted, scrubbed from errors.
_SENSITIVE_HEADER = re.compile(
    r"auth|cookie|token|secret|key|pass|signature|session|credential", re.IGNORECASE
)


def _is_sensitive_header(name: str) -> bool:
    return bool(_SENSITIVE_HEADER.search(name))


@dataclass(frozen=True, slots=True, repr=False)
class WebhookConfig:
    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    secret: Secret | None = None

    @classmethod
    def parse(cls, raw: object) -> WebhookConfig:
        reader = ConfigReader(raw)
        config = cls(
            url=reader.url("url", required=True),
            method=reader.choice("method", METHODS, "POST"),
            headers=reader.headers("headers", _RESERVED_HEADERS),
            secret=reader.secret("secret"),
        )
        reader.finish()
        return config

    def public(self) -> dict[str, object]:
        view: dict[str, object] = {"url": redact_url_credentials(self.url), "method": self.method}
        if self.headers:
            view["headers"] = {
                k: REDACTED if _is_sensitive_header(k) else v for k, v in self.headers.items()
            }
        if self.secret is not None:
            view["secret"] = REDACTED
        return view

    def __repr__(self) -> str:
        # Header values may be credentials and are plain strings: show the public view.
        return f"WebhookConfig({self.public()!r})"

    def secret_values(self) -> tuple[str, ...]:
        values = [v for k, v in self.headers.items() if _is_sensitive_header(k)]
        if self.secret is not None:
            values.append(self.secret.reveal())
        credentials = url_credentials(self.url)
        if credentials:
            values += credentials
            values += url_secret_parts(self.url)
        return tuple(values)


def _alert_json(alert: NotifiedAlert) -> dict[str, Any]:
    return {
        "status": alert.status.value,
        "labels": dict(sorted(alert.labels.items())),
        "annotations": dict(sorted(alert.annotations.items())),
        "startsAt": format_time(alert.starts_at),
        "endsAt": format_time(alert.ends_at),
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def webhook_message(notification: Notification) -> dict[str, Any]:
    """Alertmanager's webhook message (``template.Data`` + version, groupKey, truncatedAlerts)."""
    return {
        "receiver": notification.receiver,
        "status": notification.status.value,
        "alerts": [_alert_json(a) for a in notification.alerts],
        "groupLabels": dict(sorted(notification.group_labels.items())),
        "commonLabels": dict(notification.common_labels),
        "commonAnnotations": dict(notification.common_annotations),
        "externalURL": notification.external_url,
        "version": WEBHOOK_VERSION,
        "groupKey": notification.group_key,
        "truncatedAlerts": notification.truncated_alerts,
    }


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """POSTs (or PUTs) the Alertmanager-format JSON to one URL."""

    type: Final = "webhook"

    def __init__(self, config: WebhookConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http

    @classmethod
    def from_config(cls, raw: object, http: httpx.AsyncClient) -> WebhookChannel:
        return cls(WebhookConfig.parse(raw), http)

    def public_config(self) -> dict[str, object]:
        return self.config.public()

    def __repr__(self) -> str:
        return f"WebhookChannel({self.public_config()!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        body = json.dumps(
            webhook_message(notification), separators=(",", ":"), ensure_ascii=False
        ).encode()
        headers = dict(self.config.headers)
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.config.secret.reveal(), body)
        secrets = self.config.secret_values()
        response = await send_http(
            self._http,
            channel_type=self.type,
            receiver=notification.receiver,
            url=self.config.url,
            body=body,
            secrets=secrets,
            method=self.config.method,
            headers=headers,
        )
        logger.debug(
            "webhook receiver %r took %d alerts (status %d)",
            notification.receiver,
            len(notification.alerts),
            response.status_code,
        )
        return DeliveryResult(
            self.type,
            notification.receiver,
            response.status_code,
            detail=excerpt(response.text, secrets),
        )
