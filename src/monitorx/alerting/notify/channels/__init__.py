"""Notification channels: one module per receiver type, and what they share.

``build_channel(type, config, http)`` turns a channel's stored config into a
`Channel`; ``await channel.send(notification)`` delivers one group of alerts and
returns a `DeliveryResult` or raises `ChannelError`.
"""

from monitorx.alerting.notify.channels.base import (
    Channel,
    ChannelConfig,
    ChannelError,
    DeliveryResult,
    SupportsAcknowledge,
)
from monitorx.alerting.notify.channels.email import EmailChannel, EmailConfig
from monitorx.alerting.notify.channels.pagerduty import PagerDutyChannel, PagerDutyConfig
from monitorx.alerting.notify.channels.redaction import (
    REDACTED,
    Secret,
    install_http_log_redaction,
)
from monitorx.alerting.notify.channels.registry import (
    CHANNEL_BUILDERS,
    CHANNEL_TYPES,
    SEND_RESOLVED_DEFAULTS,
    ChannelBuilder,
    build_channel,
    parse_channel_config,
)
from monitorx.alerting.notify.channels.slack import SlackChannel, SlackConfig
from monitorx.alerting.notify.channels.teams import TeamsChannel, TeamsConfig
from monitorx.alerting.notify.channels.webhook import (
    SIGNATURE_HEADER,
    WebhookChannel,
    WebhookConfig,
)

__all__ = [
    "CHANNEL_BUILDERS",
    "CHANNEL_TYPES",
    "REDACTED",
    "SEND_RESOLVED_DEFAULTS",
    "SIGNATURE_HEADER",
    "Channel",
    "ChannelBuilder",
    "ChannelConfig",
    "ChannelError",
    "DeliveryResult",
    "EmailChannel",
    "EmailConfig",
    "PagerDutyChannel",
    "PagerDutyConfig",
    "Secret",
    "SlackChannel",
    "SlackConfig",
    "SupportsAcknowledge",
    "TeamsChannel",
    "TeamsConfig",
    "WebhookChannel",
    "WebhookConfig",
    "build_channel",
    "install_http_log_redaction",
    "parse_channel_config",
]
