"""The Slack channel: the exact incoming-webhook payload, colours by severity, errors."""

from __future__ import annotations

import httpx
import pytest

from monitorx.alerting.notify.channels import ChannelError, build_channel
from monitorx.alerting.notify.channels.slack import SLACK_MAX_ATTACHMENTS
from monitorx.core import AlertStatus, Severity
from tests.alerting.notify.channels.samples import make_alert, make_notification
from tests.http_receiver import HttpReceiver

# 2026-08-01T10:00:00Z
STARTED_TS = 1785578400


async def test_payload_has_text_and_one_attachment_per_alert(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    config = {
        "url": receiver.url("/services/T000/B000/XXXXXXXX"),
        "channel": "#ml-alerts",
        "username": "MonitorX",
        "icon_emoji": ":rotating_light:",
    }
    result = await build_channel("slack", config, http).send(
        make_notification(group_labels={"alertname": "latency"})
    )
    (request,) = receiver.requests
    assert request.path == "/services/T000/B000/XXXXXXXX" and request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "text": "[FIRING:1] latency (fraud-v3 critical)",
        "channel": "#ml-alerts",
        "username": "MonitorX",
        "icon_emoji": ":rotating_light:",
        "attachments": [
            {
                "color": "danger",
                "fallback": "[FIRING] latency on fraud-v3: "
                "p95 latency 712 ms is above the 250 ms threshold",
                "title": "[FIRING] latency on fraud-v3",
                "title_link": "https://monitorx.example.com/api/v1/alerts/a1",
                "text": "p95 latency 712 ms is above the 250 ms threshold",
                "fields": [
                    {"title": "Model", "value": "fraud-v3", "short": True},
                    {"title": "Severity", "value": "critical", "short": True},
                    {"title": "Value", "value": "712", "short": True},
                    {"title": "Threshold", "value": "250", "short": True},
                    {"title": "Started", "value": "2026-08-01T10:00:00Z", "short": True},
                ],
                "footer": "MonitorX",
                "ts": STARTED_TS,
            }
        ],
    }
    assert (result.channel_type, result.status_code, result.detail) == ("slack", 200, "ok")


@pytest.mark.parametrize(
    ("severity", "status", "color"),
    [
        (Severity.CRITICAL, AlertStatus.FIRING, "danger"),
        (Severity.HIGH, AlertStatus.FIRING, "danger"),
        (Severity.MEDIUM, AlertStatus.FIRING, "warning"),
        (Severity.LOW, AlertStatus.FIRING, "good"),
        (Severity.CRITICAL, AlertStatus.RESOLVED, "good"),
    ],
)
async def test_attachment_colour_follows_severity_and_resolution(
    receiver: HttpReceiver,
    http: httpx.AsyncClient,
    severity: Severity,
    status: AlertStatus,
    color: str,
) -> None:
    alert = make_alert(severity=severity, status=status)
    await build_channel("slack", {"url": receiver.url()}, http).send(make_notification(alert))
    (attachment,) = receiver.requests[0].json()["attachments"]
    assert attachment["color"] == color


async def test_resolved_alert_shows_when_it_resolved(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    alert = make_alert(status=AlertStatus.RESOLVED)
    await build_channel("slack", {"url": receiver.url()}, http).send(make_notification(alert))
    body = receiver.requests[0].json()
    assert body["text"] == "[RESOLVED] (latency fraud-v3 critical)"
    assert {"title": "Resolved", "value": "2026-08-01T10:05:00Z", "short": True} in body[
        "attachments"
    ][0]["fields"]
    assert set(body) == {"text", "attachments"}  # no channel/username/icon unless configured


async def test_control_characters_are_escaped(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    alert = make_alert(message="p95 <b>712</b> > 250 & rising")
    await build_channel("slack", {"url": receiver.url()}, http).send(make_notification(alert))
    attachment = receiver.requests[0].json()["attachments"][0]
    assert attachment["text"] == "p95 &lt;b&gt;712&lt;/b&gt; &gt; 250 &amp; rising"


async def test_large_group_is_capped_and_says_so(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    alerts = [make_alert(alert_id=f"a{i}", model_id=f"m{i}") for i in range(25)]
    await build_channel("slack", {"url": receiver.url()}, http).send(make_notification(*alerts))
    body = receiver.requests[0].json()
    assert len(body["attachments"]) == SLACK_MAX_ATTACHMENTS
    assert body["text"] == "[FIRING:25] (latency critical) (5 more not shown)"


@pytest.mark.parametrize(
    ("status", "answer"), [(400, "invalid_payload"), (403, "invalid_token"), (404, "no_service")]
)
async def test_slack_refusal_names_status_and_reason(
    receiver: HttpReceiver, http: httpx.AsyncClient, status: int, answer: str
) -> None:
    receiver.answer(status, answer)
    with pytest.raises(ChannelError) as caught:
        await build_channel("slack", {"url": receiver.url()}, http).send(make_notification())
    assert caught.value.status_code == status and caught.value.retryable is False
    assert str(caught.value).endswith(f"answered {status} {httpx.codes(status).phrase}: {answer}")


async def test_slack_down_is_retryable(down_url: str, http: httpx.AsyncClient) -> None:
    with pytest.raises(ChannelError) as caught:
        await build_channel("slack", {"url": down_url}, http).send(make_notification())
    assert caught.value.retryable and caught.value.status_code is None
