"""PagerDuty Events API v2: one event per alert, keyed by the alert's fingerprint.

Each alert becomes its own PagerDuty alert: ``trigger`` while it fires, ``resolve``
once it resolved, and ``acknowledge`` when a person acknowledges it in MonitorX
(`PagerDutyChannel.acknowledge`). The ``dedup_key`` is the alert fingerprint, which
does not change while the alert lives (notification.py), so all three land on the
same incident. (Alertmanager keys by group instead; per-alert keys let MonitorX's
acknowledge and resolve reach exactly the incident they concern.)

Events go out one at a time and the first failure stops the batch: re-sending is
safe, since PagerDuty de-duplicates on the key.
"""

from __future__ import annotations

__all__ = [
    "PAGERDUTY_EVENTS_URL",
    "PagerDutyChannel",
    "PagerDutyConfig",
    "pagerduty_events",
]

import json
import re
from dataclasses import dataclass
from typing import Any, Final

import httpx

from monitorx.alerting.notify.channels.base import (
    ChannelError,
    DeliveryResult,
    excerpt,
    logger,
    send_http,
)
from monitorx.alerting.notify.channels.config import ConfigReader
from monitorx.alerting.notify.channels.redaction import REDACTED, Secret
from monitorx.alerting.notify.channels.rendering import format_time
from monitorx.alerting.notify.notification import Notification, NotifiedAlert, alert_fingerprint
from monitorx.core import Alert, Severity

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# Events API v2 limits (PagerDuty's event schema): summary ≤ 1024 characters,
# dedup_key ≤ 255, the whole event ≤ 512 KB (Alertmanager drops custom_details past it).
MAX_SUMMARY_CHARS = 1024
MAX_EVENT_BYTES = 512_000
# An Events API v2 integration ("routing") key is 32 alphanumeric characters.
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_SEVERITY = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
}
_DEFAULT_SEVERITY = "error"  # as Alertmanager, for an alert without a known severity


@dataclass(frozen=True, slots=True)
class PagerDutyConfig:
    routing_key: Secret
    url: str = PAGERDUTY_EVENTS_URL
    source: str = "monitorx"
    group: str = "models"
    client: str = "MonitorX"

    @classmethod
    def parse(cls, raw: object) -> PagerDutyConfig:
        reader = ConfigReader(raw)
        key = reader.secret("routing_key", required=True)
        if key is not None and not _ROUTING_KEY.match(key.reveal()):
            reader.error("routing_key", "must be the 32-character Events API v2 integration key")
        config = cls(
            routing_key=key or Secret(""),
            url=reader.url("url", PAGERDUTY_EVENTS_URL),
            source=reader.string("source", "monitorx"),
            group=reader.string("group", "models"),
            client=reader.string("client", "MonitorX"),
        )
        reader.finish()
        return config

    def public(self) -> dict[str, object]:
        return {
            "routing_key": REDACTED,
            "url": self.url,
            "source": self.source,
            "group": self.group,
            "client": self.client,
        }

    def secret_values(self) -> tuple[str, ...]:
        return (self.routing_key.reveal(),)


def _summary(alert: NotifiedAlert) -> str:
    text = f"{alert.alertname or 'alert'} on {alert.subject or 'unknown model'}"
    if alert.summary:
        text += f": {alert.summary}"
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 1] + "…"
    return text


def _trigger(
    alert: NotifiedAlert, notification: Notification, config: PagerDutyConfig
) -> dict[str, Any]:
    severity = alert.severity
    details: dict[str, Any] = {
        "alert_id": alert.alert_id,
        "value": alert.value,
        "threshold": alert.threshold,
        "labels": dict(sorted(alert.labels.items())),
        "annotations": dict(sorted(alert.annotations.items())),
        "receiver": notification.receiver,
        "group_key": notification.group_key,
    }
    event: dict[str, Any] = {
        "routing_key": config.routing_key.reveal(),
        "event_action": "trigger",
        "dedup_key": alert.fingerprint,
        "payload": {
            "summary": _summary(alert),
            "source": config.source,
            "severity": _SEVERITY[severity] if severity is not None else _DEFAULT_SEVERITY,
            "timestamp": format_time(alert.starts_at),
            "component": alert.model_id,
            "group": config.group,
            "class": alert.alertname,
            "custom_details": details,
        },
        "client": config.client,
    }
    link = alert.generator_url or notification.external_url
    if link:
        event["client_url"] = link
        event["links"] = [{"href": link, "text": "Alert in MonitorX"}]
    if len(json.dumps(event).encode()) > MAX_EVENT_BYTES:
        event["payload"]["custom_details"] = {
            "error": f"custom_details left out: the event exceeded {MAX_EVENT_BYTES} bytes"
        }
    return event


def _follow_up(action: str, dedup_key: str, config: PagerDutyConfig) -> dict[str, Any]:
    # Events API v2: acknowledge and resolve need only the key; payload is for triggers.
    return {
        "routing_key": config.routing_key.reveal(),
        "event_action": action,
        "dedup_key": dedup_key,
    }


def pagerduty_events(notification: Notification, config: PagerDutyConfig) -> list[dict[str, Any]]:
    """The events for one notification, one per alert, in the notification's order."""
    return [
        _trigger(alert, notification, config)
        if alert.firing
        else _follow_up("resolve", alert.fingerprint, config)
        for alert in notification.alerts
    ]


class PagerDutyChannel:
    """Sends Events API v2 events to one PagerDuty service integration."""

    type: Final = "pagerduty"

    def __init__(self, config: PagerDutyConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http

    @classmethod
    def from_config(cls, raw: object, http: httpx.AsyncClient) -> PagerDutyChannel:
        return cls(PagerDutyConfig.parse(raw), http)

    def public_config(self) -> dict[str, object]:
        return self.config.public()

    def __repr__(self) -> str:
        return f"PagerDutyChannel({self.public_config()!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        return await self._send_events(
            notification.receiver, pagerduty_events(notification, self.config)
        )

    async def acknowledge(self, alert: Alert, receiver: str = "pagerduty") -> DeliveryResult:
        """Acknowledge the alert's PagerDuty alert (same dedup key as its trigger)."""
        event = _follow_up("acknowledge", alert_fingerprint(alert), self.config)
        return await self._send_events(receiver, [event])

    async def _send_events(self, receiver: str, events: list[dict[str, Any]]) -> DeliveryResult:
        secrets = self.config.secret_values()
        status = 0
        detail = ""
        for sent, event in enumerate(events):
            try:
                response = await send_http(
                    self._http,
                    channel_type=self.type,
                    receiver=receiver,
                    url=self.config.url,
                    body=json.dumps(event, ensure_ascii=False).encode(),
                    secrets=secrets,
                )
            except ChannelError as exc:
                if not sent:
                    raise
                raise exc.with_reason(
                    f"{exc.reason} (after {sent} of {len(events)} events were accepted)"
                ) from None
            status, detail = response.status_code, excerpt(response.text, secrets)
        logger.debug("pagerduty receiver %r took %d events", receiver, len(events))
        return DeliveryResult(self.type, receiver, status, requests=len(events), detail=detail)
