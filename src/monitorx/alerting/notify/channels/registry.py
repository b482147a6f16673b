"""The channel types MonitorX knows: one explicit table, type name → builder.

No plugin discovery and nothing registers itself at import: adding a channel type is
a new module and one line here. Builders take the raw ``config`` object of a
channel (API.md, "Channels and routes") and the process's shared httpx client.
"""

from __future__ import annotations

__all__ = [
    "CHANNEL_BUILDERS",
    "CHANNEL_TYPES",
    "DEFAULT_RATE_LIMITS",
    "SEND_RESOLVED_DEFAULTS",
    "ChannelBuilder",
    "build_channel",
    "parse_channel_config",
]

from collections.abc import Callable, Mapping
from types import MappingProxyType

import httpx

from monitorx.alerting.notify.channels.base import Channel, ChannelConfig
from monitorx.alerting.notify.channels.email import EmailChannel, EmailConfig
from monitorx.alerting.notify.channels.pagerduty import PagerDutyChannel, PagerDutyConfig
from monitorx.alerting.notify.channels.slack import SlackChannel, SlackConfig
from monitorx.alerting.notify.channels.teams import TeamsChannel, TeamsConfig
from monitorx.alerting.notify.channels.webhook import WebhookChannel, WebhookConfig
from monitorx.alerting.notify.rate_limits import RateLimit, RateLimits
from monitorx.core import ValidationError

ChannelBuilder = Callable[[object, httpx.AsyncClient], Channel]

CHANNEL_BUILDERS: Mapping[str, ChannelBuilder] = MappingProxyType(
    {
        "email": EmailChannel.from_config,
        "pagerduty": PagerDutyChannel.from_config,
        "slack": SlackChannel.from_config,
        "teams": TeamsChannel.from_config,
        "webhook": WebhookChannel.from_config,
    }
)
CHANNEL_TYPES: tuple[str, ...] = tuple(CHANNEL_BUILDERS)

_CONFIG_PARSERS: Mapping[str, Callable[[object], ChannelConfig]] = MappingProxyType(
    {
        "email": EmailConfig.parse,
        "pagerduty": PagerDutyConfig.parse,
        "slack": SlackConfig.parse,
        "teams": TeamsConfig.parse,
        "webhook": WebhookConfig.parse,
    }
)

# Alertmanager's defaults for `send_resolved` per integration (alerting-anchors §1.3):
# the chat and mail channels stay quiet about resolves unless asked.
SEND_RESOLVED_DEFAULTS: Mapping[str, bool] = MappingProxyType(
    {"email": False, "pagerduty": True, "slack": False, "teams": True, "webhook": True}
)

# How often each channel type may be sent to unless a channel sets its own
# ``rate_limit``: the providers' documented limits (sources in docs/channels.md).
# Webhooks and SMTP servers are the user's own: not limited by default.
DEFAULT_RATE_LIMITS: Mapping[str, RateLimits] = MappingProxyType(
    {
        # Slack incoming webhooks: one message per second (short bursts tolerated).
        "slack": (RateLimit(1, 1.0),),
        # PagerDuty Events API v2: 120 events a minute per integration key.
        "pagerduty": (RateLimit(120, 60.0),),
        # Teams connectors: 4 a second, 60 in 30 s, 100 an hour, 150 in two hours,
        # 1,800 a day per webhook.
        "teams": (
            RateLimit(4, 1.0),
            RateLimit(60, 30.0),
            RateLimit(100, 3600.0),
            RateLimit(150, 7200.0),
            RateLimit(1800, 86400.0),
        ),
        "webhook": (),
        "email": (),
    }
)


def _known(channel_type: object) -> str:
    if not isinstance(channel_type, str) or channel_type not in CHANNEL_BUILDERS:
        raise ValidationError(
            f"unknown channel type; expected one of {', '.join(CHANNEL_TYPES)}", "type"
        )
    return channel_type


def parse_channel_config(channel_type: str, config: object) -> ChannelConfig:
    """Validate a channel's config without building it (``public()`` shows it redacted)."""
    return _CONFIG_PARSERS[_known(channel_type)](config)


def build_channel(channel_type: str, config: object, http: httpx.AsyncClient) -> Channel:
    """The channel of that type for that config; `ValidationError` names any bad field."""
    return CHANNEL_BUILDERS[_known(channel_type)](config, http)
