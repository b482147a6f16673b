"""Channel configs: the registry, validation that names the bad field, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import monitorx.alerting.notify.channels as channels
from monitorx.alerting.notify.channels import (
    CHANNEL_TYPES,
    REDACTED,
    SEND_RESOLVED_DEFAULTS,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
    build_channel,
    parse_channel_config,
)
from monitorx.alerting.notify.channels.email import EmailConfig
from monitorx.core import ValidationError

ROUTING_KEY = "R0123456789abcdefghijklmnopqrstu"
EMAIL = {"host": "smtp.example.com", "from": "alerts@example.com", "to": "oncall@example.com"}

VALID: dict[str, dict[str, Any]] = {
    "email": EMAIL,
    "pagerduty": {"routing_key": ROUTING_KEY},
    "slack": {"url": "https://hooks.slack.com/services/T0/B0/abcdefgh"},
    "teams": {"url": "https://prod.westeurope.logic.azure.com/workflows/x?sig=abc123456"},
    "webhook": {"url": "https://hooks.example.com/alerts"},
}


def test_registry_lists_the_five_channel_types_explicitly() -> None:
    assert CHANNEL_TYPES == ("email", "pagerduty", "slack", "teams", "webhook")
    assert set(SEND_RESOLVED_DEFAULTS) == set(CHANNEL_TYPES)


@pytest.mark.parametrize(
    ("channel_type", "kind"),
    [
        ("email", EmailChannel),
        ("pagerduty", PagerDutyChannel),
        ("slack", SlackChannel),
        ("teams", TeamsChannel),
        ("webhook", WebhookChannel),
    ],
)
def test_build_channel_gives_that_type(
    channel_type: str, kind: type, http: httpx.AsyncClient
) -> None:
    channel = build_channel(channel_type, VALID[channel_type], http)
    assert isinstance(channel, kind) and channel.type == channel_type


def test_unknown_type_names_the_type_field(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValidationError) as caught:
        build_channel("sms", {}, http)
    assert [e.field for e in caught.value.errors] == ["type"]
    assert "email, pagerduty, slack, teams, webhook" in str(caught.value)


def _fields(channel_type: str, config: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse_channel_config(channel_type, config)
    return [e.field for e in caught.value.errors]


@pytest.mark.parametrize(
    ("channel_type", "config", "fields"),
    [
        ("webhook", {}, ["config.url"]),
        ("webhook", {"url": "ftp://example.com/x"}, ["config.url"]),
        ("webhook", {"url": "https:///no-host"}, ["config.url"]),
        ("webhook", {"url": "https://h.example.com", "method": "GET"}, ["config.method"]),
        ("webhook", {"url": "https://h.example.com", "secret": ""}, ["config.secret"]),
        ("webhook", {"url": "https://h.example.com", "headers": ["x"]}, ["config.headers"]),
        (
            "webhook",
            {"url": "https://h.example.com", "headers": {"X-A": "1\r\nX-Injected: 1"}},
            ["config.headers.X-A"],
        ),
        (
            "webhook",
            {"url": "https://h.example.com", "headers": {"X-MonitorX-Signature": "forged"}},
            ["config.headers.X-MonitorX-Signature"],
        ),
        ("webhook", {"url": "https://h.example.com", "retries": 3}, ["config.retries"]),
        ("webhook", ["not", "an", "object"], ["config"]),
        ("slack", {}, ["config.url"]),
        ("slack", {**VALID["slack"], "icon_emoji": "fire"}, ["config.icon_emoji"]),
        ("slack", {**VALID["slack"], "channel": 7}, ["config.channel"]),
        ("teams", {"url": "not a url"}, ["config.url"]),
        ("pagerduty", {}, ["config.routing_key"]),
        ("pagerduty", {"routing_key": "short"}, ["config.routing_key"]),
        ("pagerduty", {"routing_key": ROUTING_KEY, "url": "events"}, ["config.url"]),
        ("pagerduty", {"routingkey": ROUTING_KEY}, ["config.routing_key", "config.routingkey"]),
        ("email", {}, ["config.host", "config.from", "config.to"]),
        ("email", {**EMAIL, "to": "not-an-address"}, ["config.to"]),
        ("email", {**EMAIL, "to": []}, ["config.to"]),
        ("email", {**EMAIL, "from": "nobody"}, ["config.from"]),
        ("email", {**EMAIL, "port": 70000}, ["config.port"]),
        ("email", {**EMAIL, "port": "25"}, ["config.port"]),
        ("email", {**EMAIL, "ssl": True, "starttls": True}, ["config.starttls"]),
        ("email", {**EMAIL, "ssl": "yes"}, ["config.ssl"]),
        ("email", {**EMAIL, "password": "pw-only"}, ["config.username"]),
        ("email", {**EMAIL, "username": "user-only"}, ["config.password"]),
        ("email", {**EMAIL, "ca_file": "/no/such/ca.pem"}, ["config.ca_file"]),
    ],
)
def test_bad_config_names_every_offending_field(
    channel_type: str, config: object, fields: list[str]
) -> None:
    assert _fields(channel_type, config) == fields


@pytest.mark.parametrize(
    ("channel_type", "config"),
    [
        ("webhook", {"url": "https://h.example.com", "secret": REDACTED}),
        ("webhook", {"url": "https://h.example.com", "headers": {"Authorization": REDACTED}}),
        ("slack", {"url": f"https://hooks.slack.com/{REDACTED}"}),
        ("teams", {"url": f"https://x.logic.azure.com/{REDACTED}"}),
        ("pagerduty", {"routing_key": REDACTED}),
        ("email", {**EMAIL, "username": "u", "password": REDACTED}),
    ],
)
def test_a_redacted_view_sent_back_is_refused(channel_type: str, config: dict[str, Any]) -> None:
    # Otherwise GET-then-PUT of a channel would replace its secret with the marker.
    fields = _fields(channel_type, config)
    assert len(fields) == 1


def test_email_defaults_follow_the_transport() -> None:
    starttls = EmailConfig.parse(EMAIL)
    assert (starttls.port, starttls.starttls, starttls.ssl) == (587, True, False)
    implicit = EmailConfig.parse({**EMAIL, "ssl": True})
    assert (implicit.port, implicit.starttls, implicit.ssl) == (465, False, True)
    plain = EmailConfig.parse({**EMAIL, "starttls": False})
    assert (plain.port, plain.starttls) == (25, False)
    listed = EmailConfig.parse({**EMAIL, "to": "a@example.com, Team <b@example.com>"})
    assert listed.to == ("a@example.com", "b@example.com")


def test_webhook_method_is_case_insensitive_and_defaults_to_post(http: httpx.AsyncClient) -> None:
    put = parse_channel_config("webhook", {"url": "https://h.example.com", "method": "put"})
    assert put.public()["method"] == "PUT"
    assert parse_channel_config("webhook", {"url": "https://h.example.com"}).public()["method"] == (
        "POST"
    )


def test_package_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(channels).items()
        if not name.startswith("_") and not isinstance(value, type(channels))
    }
    assert set(channels.__all__) == public and len(channels.__all__) == len(public)


def test_ca_file_must_exist(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until used")
    assert EmailConfig.parse({**EMAIL, "ca_file": str(ca)}).ca_file == str(ca)
