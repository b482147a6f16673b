"""Slack through an incoming webhook: a text line and one coloured attachment per alert.

Secondary attachments are still the only way Slack draws the coloured side bar
(``good``/``warning``/``danger``), so each alert gets one, with its facts as short
fields; the top-level ``text`` is the Alertmanager-style subject and doubles as the
notification text on phones. The webhook URL is the credential (its path carries
the tokens), so the config keeps it as a Secret.
"""

from __future__ import annotations

__all__ = ["SLACK_MAX_ATTACHMENTS", "SlackChannel", "SlackConfig", "slack_message"]

from dataclasses import dataclass
from typing import Any, ClassVar

from monitorx.alerting.notify.channels.chat_webhook import ChatWebhookChannel
from monitorx.alerting.notify.channels.config import ConfigReader
from monitorx.alerting.notify.channels.redaction import Secret, redact_url, url_secret_parts
from monitorx.alerting.notify.channels.rendering import (
    alert_facts,
    alert_title,
    alert_tone,
    subject,
)
from monitorx.alerting.notify.notification import Notification, NotifiedAlert

# Slack's guidance is at most 20 attachments per message; beyond that the text says
# how many were left out.
SLACK_MAX_ATTACHMENTS = 20
_FOOTER = "MonitorX"


def slack_escape(text: str) -> str:
    """Slack's three control characters, escaped as its formatting rules require."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, slots=True)
class SlackConfig:
    url: Secret
    channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None

    @classmethod
    def parse(cls, raw: object) -> SlackConfig:
        reader = ConfigReader(raw)
        url = reader.secret_url("url", required=True)
        channel = reader.optional_string("channel", max_length=256)
        username = reader.optional_string("username", max_length=256)
        icon_emoji = reader.optional_string("icon_emoji", max_length=256)
        if icon_emoji is not None and not (icon_emoji.startswith(":") and icon_emoji.endswith(":")):
            reader.error("icon_emoji", "must look like :emoji_name:")
        reader.finish()
        assert url is not None  # finish() raised otherwise
        return cls(url=url, channel=channel, username=username, icon_emoji=icon_emoji)

    def public(self) -> dict[str, object]:
        view: dict[str, object] = {"url": redact_url(self.url.reveal())}
        for key in ("channel", "username", "icon_emoji"):
            value = getattr(self, key)
            if value is not None:
                view[key] = value
        return view

    def secret_values(self) -> tuple[str, ...]:
        return url_secret_parts(self.url.reveal())


def _attachment(alert: NotifiedAlert) -> dict[str, Any]:
    title = alert_title(alert)
    attachment: dict[str, Any] = {
        "color": alert_tone(alert).value,
        "fallback": slack_escape(f"{title}: {alert.summary}" if alert.summary else title),
        "title": slack_escape(title),
    }
    if alert.generator_url:
        attachment["title_link"] = alert.generator_url
    if alert.summary:
        attachment["text"] = slack_escape(alert.summary)
    attachment["fields"] = [
        {"title": name, "value": slack_escape(value), "short": True}
        for name, value in alert_facts(alert)
    ]
    attachment["footer"] = _FOOTER
    attachment["ts"] = int(alert.starts_at.timestamp())
    return attachment


def slack_message(notification: Notification, config: SlackConfig) -> dict[str, Any]:
    """The incoming-webhook payload for one notification."""
    shown = notification.alerts[:SLACK_MAX_ATTACHMENTS]
    text = subject(notification)
    left_out = len(notification.alerts) - len(shown) + notification.truncated_alerts
    if left_out:
        text += f" ({left_out} more not shown)"
    message: dict[str, Any] = {"text": slack_escape(text)}
    if config.channel is not None:
        message["channel"] = config.channel
    if config.username is not None:
        message["username"] = config.username
    if config.icon_emoji is not None:
        message["icon_emoji"] = config.icon_emoji
    message["attachments"] = [_attachment(a) for a in shown]
    return message


class SlackChannel(ChatWebhookChannel[SlackConfig]):
    """Posts one message per notification to a Slack incoming webhook."""

    type: ClassVar[str] = "slack"

    @classmethod
    def parse_config(cls, raw: object) -> SlackConfig:
        return SlackConfig.parse(raw)

    def message(self, notification: Notification) -> dict[str, Any]:
        return slack_message(notification, self.config)
