"""The webhook channel against a real local receiver: API.md's contract, byte for byte."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from monitorx.alerting.notify.channels import ChannelError, WebhookChannel, build_channel
from monitorx.alerting.notify.notification import Notification
from monitorx.core import AlertStatus, AlertType, Severity
from tests.alerting.notify.channels.samples import make_alert, make_notification
from tests.http_receiver import HttpReceiver


def _group_of_two() -> Notification:
    firing = make_alert(alert_id="a1", labels={"region": "eu"})
    resolved = make_alert(
        alert_id="a2",
        alert_type=AlertType.ERROR_RATE,
        severity=Severity.MEDIUM,
        status=AlertStatus.RESOLVED,
        value=0.07,
        threshold=0.05,
        message="error rate 7% is above 5%",
        labels={"region": "eu"},
    )
    return make_notification(
        firing,
        resolved,
        group_labels={"model_id": "fraud-v3"},
        group_key='{}/{severity=~".*"}:{model_id="fraud-v3"}',
        truncated_alerts=3,
    )


async def test_body_is_alertmanager_webhook_v4_with_every_key(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    channel = build_channel("webhook", {"url": receiver.url()}, http)
    result = await channel.send(_group_of_two())
    (request,) = receiver.requests
    assert request.json() == {
        "version": "4",
        "groupKey": '{}/{severity=~".*"}:{model_id="fraud-v3"}',
        "truncatedAlerts": 3,
        "status": "firing",
        "receiver": "ml-oncall",
        "groupLabels": {"model_id": "fraud-v3"},
        "commonLabels": {"model_id": "fraud-v3", "region": "eu"},
        "commonAnnotations": {},
        "externalURL": "https://monitorx.example.com",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "latency",
                    "model_id": "fraud-v3",
                    "region": "eu",
                    "severity": "critical",
                },
                "annotations": {"summary": "p95 latency 712 ms is above the 250 ms threshold"},
                "startsAt": "2026-08-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://monitorx.example.com/api/v1/alerts/a1",
                "fingerprint": "f16e10c3891640a3",
            },
            {
                "status": "resolved",
                "labels": {
                    "alertname": "error_rate",
                    "model_id": "fraud-v3",
                    "region": "eu",
                    "severity": "medium",
                },
                "annotations": {"summary": "error rate 7% is above 5%"},
                "startsAt": "2026-08-01T10:00:00Z",
                "endsAt": "2026-08-01T10:05:00Z",
                "generatorURL": "https://monitorx.example.com/api/v1/alerts/a2",
                "fingerprint": "ab8e04c9a8943648",
            },
        ],
    }
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("MonitorX/")
    assert "X-MonitorX-Signature" not in request.headers
    assert (result.channel_type, result.receiver, result.status_code) == (
        "webhook",
        "ml-oncall",
        200,
    )


async def test_all_resolved_group_reports_resolved(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    channel = build_channel("webhook", {"url": receiver.url()}, http)
    await channel.send(make_notification(make_alert(status=AlertStatus.RESOLVED)))
    body = receiver.requests[0].json()
    assert body["status"] == "resolved"
    assert body["alerts"][0]["endsAt"] == "2026-08-01T10:05:00Z"
    assert body["groupKey"] == "{}:{}" and body["truncatedAlerts"] == 0


async def test_secret_signs_the_exact_body_bytes(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    secret = "s3cr3t-signing-key"
    channel = build_channel("webhook", {"url": receiver.url(), "secret": secret}, http)
    await channel.send(make_notification())
    (request,) = receiver.requests
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-MonitorX-Signature"] == f"sha256={expected}"
    # A receiver that checks with another secret, or altered bytes, does not match.
    forged = hmac.new(b"other", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-MonitorX-Signature"] != f"sha256={forged}"


async def test_put_and_custom_headers(receiver: HttpReceiver, http: httpx.AsyncClient) -> None:
    config = {
        "url": receiver.url("/alerts?team=risk"),
        "method": "put",
        "headers": {"X-Team": "risk", "Authorization": "Bearer tok-123456"},
    }
    await build_channel("webhook", config, http).send(make_notification())
    (request,) = receiver.requests
    assert request.method == "PUT" and request.path == "/alerts?team=risk"
    assert request.headers["X-Team"] == "risk"
    assert request.headers["Authorization"] == "Bearer tok-123456"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
async def test_error_status_raises_naming_status_and_body(
    receiver: HttpReceiver, http: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    receiver.answer(status, '{"error": "nope"}')
    channel = build_channel("webhook", {"url": receiver.url()}, http)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    error = caught.value
    assert error.status_code == status and error.retryable is retryable
    assert error.body == '{"error": "nope"}'
    assert str(error).startswith(f"webhook receiver 'ml-oncall': answered {status} ")
    assert '{"error": "nope"}' in str(error)


async def test_retry_after_is_passed_on(receiver: HttpReceiver, http: httpx.AsyncClient) -> None:
    receiver.answer(429, "slow down", **{"Retry-After": "17"})
    channel = build_channel("webhook", {"url": receiver.url()}, http)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    assert caught.value.retry_after_s == 17.0


async def test_long_error_body_is_cut_to_an_excerpt(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    receiver.answer(502, "<html>" + "x" * 5000 + "</html>")
    with pytest.raises(ChannelError) as caught:
        await build_channel("webhook", {"url": receiver.url()}, http).send(make_notification())
    assert len(caught.value.body) <= 301 and caught.value.body.endswith("…")


async def test_redirect_is_an_error_not_followed(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    receiver.answer(302, "", Location=receiver.url("/elsewhere"))
    with pytest.raises(ChannelError, match="answered 302"):
        await build_channel("webhook", {"url": receiver.url()}, http).send(make_notification())
    assert len(receiver.requests) == 1


async def test_receiver_down_is_a_retryable_error(down_url: str, http: httpx.AsyncClient) -> None:
    channel = build_channel("webhook", {"url": down_url}, http)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    error = caught.value
    assert error.status_code is None and error.retryable is True
    assert str(error).startswith("webhook receiver 'ml-oncall': unreachable: ConnectError")
    assert error.__suppress_context__  # httpx's exception (with the URL) is not chained


def test_builder_returns_a_webhook_channel(http: httpx.AsyncClient) -> None:
    channel = build_channel("webhook", {"url": "https://hooks.example.com/x"}, http)
    assert isinstance(channel, WebhookChannel) and channel.type == "webhook"
    assert channel.public_config() == {"url": "https://hooks.example.com/x", "method": "POST"}
