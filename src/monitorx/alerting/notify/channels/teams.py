"""Microsoft Teams through a Workflows (Power Automate) webhook: one Adaptive Card.

Office 365 connectors are retired; a Workflows webhook takes a ``message`` whose
one attachment is an Adaptive Card (the shape Alertmanager's ``msteamsv2`` sends).
The card has a title coloured by the worst alert, then per alert a heading, its
summary and a FactSet, and ``Action.OpenUrl`` buttons to the alerts in MonitorX.
The webhook URL carries its signature (``sig=…``), so the config keeps it secret.
"""

from __future__ import annotations

__all__ = [
    "ADAPTIVE_CARD_VERSION",
    "TEAMS_MAX_ACTIONS",
    "TEAMS_MAX_ALERTS",
    "TeamsChannel",
    "TeamsConfig",
    "teams_message",
]

from dataclasses import dataclass
from typing import Any, ClassVar

from monitorx.alerting.notify.channels.chat_webhook import ChatWebhookChannel
from monitorx.alerting.notify.channels.config import ConfigReader
from monitorx.alerting.notify.channels.redaction import Secret, redact_url, url_secret_parts
from monitorx.alerting.notify.channels.rendering import (
    Tone,
    alert_facts,
    alert_title,
    alert_tone,
    notification_tone,
    subject,
)
from monitorx.alerting.notify.notification import Notification, NotifiedAlert

ADAPTIVE_CARD_VERSION = "1.4"
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams cards stop at about 28 KB and show a handful of buttons; a group past these
# limits says how many alerts it left out.
TEAMS_MAX_ALERTS = 10
TEAMS_MAX_ACTIONS = 5
_COLOR = {Tone.DANGER: "Attention", Tone.WARNING: "Warning", Tone.GOOD: "Good"}


@dataclass(frozen=True, slots=True)
class TeamsConfig:
    url: Secret

    @classmethod
    def parse(cls, raw: object) -> TeamsConfig:
        reader = ConfigReader(raw)
        url = reader.secret_url("url", required=True)
        reader.finish()
        assert url is not None  # finish() raised otherwise
        return cls(url=url)

    def public(self) -> dict[str, object]:
        return {"url": redact_url(self.url.reveal())}

    def secret_values(self) -> tuple[str, ...]:
        return url_secret_parts(self.url.reveal())


def _alert_section(alert: NotifiedAlert) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": alert_title(alert),
            "weight": "Bolder",
            "wrap": True,
            "color": _COLOR[alert_tone(alert)],
        }
    ]
    if alert.summary:
        items.append({"type": "TextBlock", "text": alert.summary, "wrap": True})
    items.append(
        {
            "type": "FactSet",
            "facts": [{"title": name, "value": value} for name, value in alert_facts(alert)],
        }
    )
    return {"type": "Container", "separator": True, "items": items}


def _action(alert: NotifiedAlert, several: bool) -> dict[str, Any]:
    title = f"Open {alert.alertname} on {alert.subject}" if several else "Open in MonitorX"
    return {"type": "Action.OpenUrl", "title": title, "url": alert.generator_url}


def teams_message(notification: Notification) -> dict[str, Any]:
    """The Workflows webhook payload: a message with one Adaptive Card attachment."""
    shown = notification.alerts[:TEAMS_MAX_ALERTS]
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": subject(notification),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": _COLOR[notification_tone(notification)],
        }
    ]
    body += [_alert_section(a) for a in shown]
    left_out = len(notification.alerts) - len(shown) + notification.truncated_alerts
    if left_out:
        body.append({"type": "TextBlock", "text": f"{left_out} more not shown", "isSubtle": True})
    linked = [a for a in shown if a.generator_url][:TEAMS_MAX_ACTIONS]
    card: dict[str, Any] = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
        "actions": [_action(a, several=len(linked) > 1) for a in linked],
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
        ],
    }


class TeamsChannel(ChatWebhookChannel[TeamsConfig]):
    """Posts one Adaptive Card per notification to a Teams Workflows webhook."""

    type: ClassVar[str] = "teams"

    @classmethod
    def parse_config(cls, raw: object) -> TeamsConfig:
        return TeamsConfig.parse(raw)

    def message(self, notification: Notification) -> dict[str, Any]:
        return teams_message(notification)
