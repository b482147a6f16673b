"""The Teams channel: a Workflows webhook message carrying one Adaptive Card."""

from __future__ import annotations

import httpx
import pytest

from monitorx.alerting.notify.channels import ChannelError, build_channel
from monitorx.core import AlertStatus, AlertType, Severity
from tests.alerting.notify.channels.samples import make_alert, make_notification
from tests.http_receiver import HttpReceiver

WORKFLOW_PATH = (
    "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers&sv=1.0&sig=SIG123456"
)


async def test_message_is_an_adaptive_card_with_title_facts_and_action(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    receiver.default.status, receiver.default.body = 202, b""
    channel = build_channel("teams", {"url": receiver.url(WORKFLOW_PATH)}, http)
    result = await channel.send(make_notification(group_labels={"model_id": "fraud-v3"}))
    (request,) = receiver.requests
    assert request.method == "POST" and request.path == WORKFLOW_PATH
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "[FIRING:1] fraud-v3 (latency critical)",
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                            "color": "Attention",
                        },
                        {
                            "type": "Container",
                            "separator": True,
                            "items": [
                                {
                                    "type": "TextBlock",
                                    "text": "[FIRING] latency on fraud-v3",
                                    "weight": "Bolder",
                                    "wrap": True,
                                    "color": "Attention",
                                },
                                {
                                    "type": "TextBlock",
                                    "text": "p95 latency 712 ms is above the 250 ms threshold",
                                    "wrap": True,
                                },
                                {
                                    "type": "FactSet",
                                    "facts": [
                                        {"title": "Model", "value": "fraud-v3"},
                                        {"title": "Severity", "value": "critical"},
                                        {"title": "Value", "value": "712"},
                                        {"title": "Threshold", "value": "250"},
                                        {"title": "Started", "value": "2026-08-01T10:00:00Z"},
                                    ],
                                },
                            ],
                        },
                    ],
                    "actions": [
                        {
                            "type": "Action.OpenUrl",
                            "title": "Open in MonitorX",
                            "url": "https://monitorx.example.com/api/v1/alerts/a1",
                        }
                    ],
                    "msteams": {"width": "Full"},
                },
            }
        ],
    }
    assert (result.channel_type, result.status_code) == ("teams", 202)


@pytest.mark.parametrize(
    ("severity", "status", "color"),
    [
        (Severity.CRITICAL, AlertStatus.FIRING, "Attention"),
        (Severity.HIGH, AlertStatus.FIRING, "Attention"),
        (Severity.MEDIUM, AlertStatus.FIRING, "Warning"),
        (Severity.LOW, AlertStatus.FIRING, "Good"),
        (Severity.HIGH, AlertStatus.RESOLVED, "Good"),
    ],
)
async def test_title_colour_follows_severity(
    receiver: HttpReceiver,
    http: httpx.AsyncClient,
    severity: Severity,
    status: AlertStatus,
    color: str,
) -> None:
    alert = make_alert(severity=severity, status=status)
    await build_channel("teams", {"url": receiver.url()}, http).send(make_notification(alert))
    title = receiver.requests[0].json()["attachments"][0]["content"]["body"][0]
    assert title["color"] == color


async def test_group_title_takes_the_worst_alert_and_links_each(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    alerts = [
        make_alert(alert_id="a1", severity=Severity.MEDIUM),
        make_alert(alert_id="a2", alert_type=AlertType.DRIFT, severity=Severity.HIGH),
        make_alert(alert_id="a3", alert_type=AlertType.ERROR_RATE, status=AlertStatus.RESOLVED),
    ]
    await build_channel("teams", {"url": receiver.url()}, http).send(make_notification(*alerts))
    card = receiver.requests[0].json()["attachments"][0]["content"]
    assert card["body"][0]["color"] == "Attention"
    colors = [section["items"][0]["color"] for section in card["body"][1:]]
    assert colors == ["Warning", "Attention", "Good"]
    assert [a["title"] for a in card["actions"]] == [
        "Open latency on fraud-v3",
        "Open drift on fraud-v3",
        "Open error_rate on fraud-v3",
    ]
    resolved_facts = card["body"][3]["items"][2]["facts"]
    assert {"title": "Resolved", "value": "2026-08-01T10:05:00Z"} in resolved_facts


async def test_large_group_is_capped_and_says_so(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    alerts = [make_alert(alert_id=f"a{i}", model_id=f"m{i}") for i in range(12)]
    await build_channel("teams", {"url": receiver.url()}, http).send(make_notification(*alerts))
    card = receiver.requests[0].json()["attachments"][0]["content"]
    assert len(card["body"]) == 1 + 10 + 1
    assert card["body"][-1] == {"type": "TextBlock", "text": "2 more not shown", "isSubtle": True}
    assert len(card["actions"]) == 5


async def test_workflow_refusal_names_status(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    receiver.answer(400, '{"error":{"code":"InvalidRequestContent"}}')
    with pytest.raises(ChannelError) as caught:
        await build_channel("teams", {"url": receiver.url()}, http).send(make_notification())
    assert caught.value.status_code == 400 and "InvalidRequestContent" in caught.value.body
    assert str(caught.value).startswith("teams receiver 'ml-oncall': answered 400 Bad Request")


async def test_workflow_down_is_retryable(down_url: str, http: httpx.AsyncClient) -> None:
    with pytest.raises(ChannelError) as caught:
        await build_channel("teams", {"url": down_url}, http).send(make_notification())
    assert caught.value.retryable
