"""Secrets stay secret: not in public views, reprs, errors, or any log line.

Alertmanager tests every notifier with ``AssertNotifyLeaksNoSecret``; this is ours.
Receivers here echo the secret back in their error answers, as careless ones do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from monitorx.alerting.notify.channels import (
    REDACTED,
    ChannelError,
    build_channel,
    install_http_log_redaction,
    parse_channel_config,
)
from monitorx.alerting.notify.channels.redaction import (
    HttpLogRedaction,
    Secret,
    redact_url,
    redact_url_credentials,
    scrub,
    url_credentials,
)
from tests.alerting.notify.channels.samples import make_notification
from tests.http_receiver import HttpReceiver

ROUTING_KEY = "Rk0123456789SECRETabcdefghijklmn"
SLACK_PATH = "/services/T0SECRET1/B0SECRET2/slackTOKENsecret123"
TEAMS_PATH = "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=teamsSIGsecret456"
HMAC_SECRET = "hmacSECRET-signing-789"
BEARER = "Bearer apiTOKENsecret-321"
PASSWORD = "smtpPASSWORDsecret-654"


def _configs(receiver: HttpReceiver) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Per channel type: a config full of secrets, and the strings that must not leak."""
    return {
        "webhook": (
            {
                "url": receiver.url("/hook"),
                "secret": HMAC_SECRET,
                "headers": {"Authorization": BEARER, "X-Team": "risk"},
            },
            [HMAC_SECRET, BEARER, "apiTOKENsecret"],
        ),
        "slack": ({"url": receiver.url(SLACK_PATH)}, ["slackTOKENsecret123", "T0SECRET1"]),
        "teams": ({"url": receiver.url(TEAMS_PATH)}, ["teamsSIGsecret456"]),
        "pagerduty": (
            {"routing_key": ROUTING_KEY, "url": receiver.url("/v2/enqueue")},
            [ROUTING_KEY],
        ),
    }


@pytest.fixture
def redacted_http_logs() -> Iterator[None]:
    redaction = install_http_log_redaction()
    yield
    logging.getLogger("httpx").removeFilter(redaction)


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        if record.name.startswith("mail.log"):
            continue  # the test's own SMTP server, not MonitorX's output
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def _assert_clean(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("channel_type", ["webhook", "slack", "teams", "pagerduty"])
def test_public_config_and_repr_hide_every_secret(
    channel_type: str, receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    config, secrets = _configs(receiver)[channel_type]
    channel = build_channel(channel_type, config, http)
    view = channel.public_config()
    assert set(view) >= set(config)  # the same keys, so a UI can show them
    assert REDACTED in json.dumps(view)
    for text in (json.dumps(view), repr(channel), repr(parse_channel_config(channel_type, config))):
        _assert_clean(text, secrets)


def test_public_views_keep_what_is_not_secret(receiver: HttpReceiver) -> None:
    configs = _configs(receiver)
    webhook = parse_channel_config("webhook", configs["webhook"][0]).public()
    assert webhook["headers"] == {"Authorization": REDACTED, "X-Team": "risk"}
    assert webhook["url"] == receiver.url("/hook") and webhook["secret"] == REDACTED
    slack = parse_channel_config("slack", configs["slack"][0]).public()
    assert slack == {"url": f"http://127.0.0.1:{receiver.port}/{REDACTED}"}
    pagerduty = parse_channel_config("pagerduty", configs["pagerduty"][0]).public()
    assert pagerduty["routing_key"] == REDACTED
    email = parse_channel_config(
        "email",
        {
            "host": "smtp.example.com",
            "from": "a@example.com",
            "to": ["b@example.com"],
            "username": "alerts",
            "password": PASSWORD,
        },
    ).public()
    assert email["password"] == REDACTED and email["username"] == "alerts"
    assert PASSWORD not in repr(parse_channel_config("email", {**email, "password": PASSWORD}))


def test_password_in_a_webhook_url_is_redacted() -> None:
    config = parse_channel_config("webhook", {"url": "https://bot:hunter2pass@h.example.com/x"})
    assert config.public()["url"] == f"https://bot:{REDACTED}@h.example.com/x"
    assert "hunter2pass" in config.secret_values()


@pytest.mark.parametrize("channel_type", ["webhook", "slack", "teams", "pagerduty"])
async def test_no_secret_in_logs_or_errors_on_success_and_failure(
    channel_type: str,
    receiver: HttpReceiver,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    redacted_http_logs: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    config, secrets = _configs(receiver)[channel_type]
    channel = build_channel(channel_type, config, http)
    receiver.answer(202, "ok")
    result = await channel.send(make_notification())
    # A receiver that echoes the request (URL, key, headers) in its error answer.
    first = receiver.requests[0]
    auth = first.headers.get("Authorization")
    receiver.answer(400, f"rejected {first.path} auth={auth} {first.body[:200]!r}")
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    logging.getLogger("monitorx.test").exception("delivery failed", exc_info=caught.value)
    assert any(r.name == "httpx" for r in caplog.records)  # httpx did log each request
    _assert_clean(_all_log_text(caplog), secrets)
    _assert_clean(str(caught.value) + caught.value.body + result.detail, secrets)
    assert REDACTED in caught.value.body


async def test_without_the_redaction_httpx_would_log_the_slack_token(
    receiver: HttpReceiver, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Why the server installs the redaction: httpx logs full URLs at INFO.
    caplog.set_level(logging.INFO)
    channel = build_channel("slack", {"url": receiver.url(SLACK_PATH)}, http)
    await channel.send(make_notification())
    httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("slackTOKENsecret123" in line for line in httpx_lines)
    monitorx_text = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "slackTOKENsecret123" not in monitorx_text


async def test_unreachable_error_does_not_carry_the_url(
    down_url: str, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = down_url.replace("/hook", SLACK_PATH)
    channel = build_channel("slack", {"url": url}, http)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    logging.getLogger("monitorx.test").error("failed", exc_info=caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    _assert_clean(str(caught.value) + _all_log_text(caplog), ["slackTOKENsecret123"])


def test_install_is_idempotent() -> None:
    logger = logging.getLogger("monitorx.test.httpx")
    first = install_http_log_redaction(logger)
    assert install_http_log_redaction(logger) is first
    assert [f for f in logger.filters if isinstance(f, HttpLogRedaction)] == [first]
    logger.removeFilter(first)


def test_secret_never_shows_itself() -> None:
    secret = Secret("s3cr3t-value")
    assert secret.reveal() == "s3cr3t-value"
    for text in (str(secret), repr(secret), f"{secret}", f"{[secret]}"):
        assert "s3cr3t" not in text
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")


def test_redact_url_keeps_scheme_and_host_only() -> None:
    assert redact_url("https://hooks.slack.com/services/T/B/X") == (
        f"https://hooks.slack.com/{REDACTED}"
    )
    assert redact_url("http://[::1]:8080/a?b=c") == f"http://[::1]:8080/{REDACTED}"
    assert redact_url("garbage") == REDACTED


def test_scrub_replaces_longest_secrets_first() -> None:
    text = "key=abcdef123 and prefix abcdef"
    assert scrub(text, ["abcdef", "abcdef123"]) == f"key={REDACTED} and prefix {REDACTED}"
    assert scrub("ab ab", ["ab"]) == "ab ab"  # too short to scrub meaningfully


async def test_a_token_echoed_alone_is_scrubbed(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    receiver.answer(403, "invalid_token slackTOKENsecret123 for team T0SECRET1")
    channel = build_channel("slack", {"url": receiver.url(SLACK_PATH)}, http)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    assert caught.value.body == f"invalid_token {REDACTED} for team T0SECRET1"
    # (IDs shorter than a token stay: they name the workspace, they do not open it.)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/mx", "https://hooks.example.com/mx"),
        (
            "https://hooks.example.com/api/v1/alertmanager-webhook?team=ml",
            "https://hooks.example.com/api/v1/alertmanager-webhook?team=ml",
        ),
        (
            "https://discord.com/api/webhooks/123456789012345678/AbCdEfGh1234ijklMNOP5678qr",
            f"https://discord.com/api/webhooks/{REDACTED}/{REDACTED}",
        ),
        (
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=AIzaSyDdI0h&token=x1y2",
            f"https://chat.googleapis.com/v1/spaces/AAAA/messages?key={REDACTED}&token={REDACTED}",
        ),
        (
            "https://fn.azurewebsites.net/api/alert?code=abc&team=ml",
            f"https://fn.azurewebsites.net/api/alert?code={REDACTED}&team=ml",
        ),
        ("https://bot:pw@[::1]:8443/x", f"https://bot:{REDACTED}@[::1]:8443/x"),
    ],
)
def test_a_webhook_url_shows_where_it_points_but_not_its_credentials(url: str, shown: str) -> None:
    assert redact_url_credentials(url) == shown
    config = parse_channel_config("webhook", {"url": url})
    assert config.public()["url"] == shown
    for credential in url_credentials(url):
        assert credential in config.secret_values()
        assert credential not in shown


async def test_a_token_in_a_webhook_url_is_scrubbed_from_errors(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    token = "hookTOKENsecret0123456789"
    url = receiver.url(f"/hooks/{token}?sig=sigSECRET42")
    receiver.answer(404, f"no hook at /hooks/{token}?sig=sigSECRET42")
    channel = build_channel("webhook", {"url": url}, http)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    _assert_clean(str(caught.value) + caught.value.body + repr(channel), [token, "sigSECRET42"])
