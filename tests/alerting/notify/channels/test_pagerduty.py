"""The PagerDuty channel: Events API v2 events, one per alert, against a local receiver."""

from __future__ import annotations

import json

import httpx
import pytest

from monitorx.alerting.notify.channels import (
    ChannelError,
    PagerDutyChannel,
    SupportsAcknowledge,
    build_channel,
)
from monitorx.alerting.notify.channels.pagerduty import PAGERDUTY_EVENTS_URL, PagerDutyConfig
from monitorx.core import AlertStatus, AlertType, Severity
from tests.alerting.notify.channels.samples import make_alert, make_notification
from tests.http_receiver import HttpReceiver

ROUTING_KEY = "R0123456789abcdefghijklmnopqrstu"
ACCEPTED = json.dumps({"status": "success", "message": "Event processed", "dedup_key": "k"})


@pytest.fixture
def pagerduty(receiver: HttpReceiver, http: httpx.AsyncClient) -> PagerDutyChannel:
    receiver.default.status, receiver.default.body = 202, ACCEPTED.encode()
    config = {"routing_key": ROUTING_KEY, "url": receiver.url("/v2/enqueue")}
    channel = build_channel("pagerduty", config, http)
    assert isinstance(channel, PagerDutyChannel)
    return channel


async def test_trigger_event_has_every_events_v2_field(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    result = await pagerduty.send(make_notification(make_alert(labels={"region": "eu"})))
    (request,) = receiver.requests
    assert request.method == "POST" and request.path == "/v2/enqueue"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "f16e10c3891640a3",
        "payload": {
            "summary": "latency on fraud-v3: p95 latency 712 ms is above the 250 ms threshold",
            "source": "monitorx",
            "severity": "critical",
            "timestamp": "2026-08-01T10:00:00Z",
            "component": "fraud-v3",
            "group": "models",
            "class": "latency",
            "custom_details": {
                "alert_id": "a1",
                "value": 712.0,
                "threshold": 250.0,
                "labels": {
                    "alertname": "latency",
                    "model_id": "fraud-v3",
                    "region": "eu",
                    "severity": "critical",
                },
                "annotations": {"summary": "p95 latency 712 ms is above the 250 ms threshold"},
                "receiver": "ml-oncall",
                "group_key": "{}:{}",
            },
        },
        "client": "MonitorX",
        "client_url": "https://monitorx.example.com/api/v1/alerts/a1",
        "links": [
            {"href": "https://monitorx.example.com/api/v1/alerts/a1", "text": "Alert in MonitorX"}
        ],
    }
    assert (result.status_code, result.requests) == (202, 1)
    assert "success" in result.detail and ROUTING_KEY not in result.detail


async def test_resolve_event_reuses_the_trigger_dedup_key(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    await pagerduty.send(make_notification(make_alert(severity=Severity.LOW)))
    # Severity rose to critical, then the alert resolved: same incident.
    resolved = make_alert(severity=Severity.CRITICAL, status=AlertStatus.RESOLVED)
    await pagerduty.send(make_notification(resolved))
    trigger, resolve = (r.json() for r in receiver.requests)
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }


async def test_acknowledge_sends_the_alerts_dedup_key(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    assert isinstance(pagerduty, SupportsAcknowledge)
    alert = make_alert()
    await pagerduty.send(make_notification(alert))
    result = await pagerduty.acknowledge(alert.evolve(acknowledged=True))
    trigger, ack = (r.json() for r in receiver.requests)
    assert ack == {
        "routing_key": ROUTING_KEY,
        "event_action": "acknowledge",
        "dedup_key": trigger["dedup_key"],
    }
    assert (result.status_code, result.receiver) == (202, "pagerduty")


async def test_one_event_per_alert_in_order(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    alerts = [
        make_alert(alert_id="a1"),
        make_alert(alert_id="a2", alert_type=AlertType.DRIFT, status=AlertStatus.RESOLVED),
    ]
    result = await pagerduty.send(make_notification(*alerts))
    actions = [(r.json()["event_action"], r.json()["dedup_key"]) for r in receiver.requests]
    assert actions == [("trigger", "02ca50101aa22247"), ("resolve", "168b38824115789c")]
    assert result.requests == 2


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, "critical"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "info"),
    ],
)
async def test_severity_maps_to_pagerduty_levels(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver, severity: Severity, expected: str
) -> None:
    await pagerduty.send(make_notification(make_alert(severity=severity)))
    assert receiver.requests[0].json()["payload"]["severity"] == expected


async def test_summary_is_cut_to_1024_characters(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    await pagerduty.send(make_notification(make_alert(message="x" * 3000)))
    summary = receiver.requests[0].json()["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("…")


async def test_oversized_event_drops_custom_details(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    huge = make_alert(labels={f"label{i}": "v" * 1000 for i in range(600)})
    await pagerduty.send(make_notification(huge))
    request = receiver.requests[0]
    assert len(request.body) < 512_000
    assert request.json()["payload"]["custom_details"] == {
        "error": "custom_details left out: the event exceeded 512000 bytes"
    }


async def test_invalid_event_400_is_not_retryable(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    answer = {"status": "invalid event", "message": "Event object is invalid", "errors": ["x"]}
    receiver.answer(400, json.dumps(answer))
    with pytest.raises(ChannelError) as caught:
        await pagerduty.send(make_notification())
    assert caught.value.status_code == 400 and not caught.value.retryable
    assert "Event object is invalid" in str(caught.value)


async def test_rate_limit_429_is_retryable(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    receiver.answer(429, "")
    with pytest.raises(ChannelError) as caught:
        await pagerduty.send(make_notification())
    assert caught.value.status_code == 429 and caught.value.retryable


async def test_failure_mid_batch_says_how_far_it_got(
    pagerduty: PagerDutyChannel, receiver: HttpReceiver
) -> None:
    receiver.answer(202, ACCEPTED)
    receiver.answer(500, "internal")
    alerts = [make_alert(alert_id=f"a{i}", model_id=f"m{i}") for i in range(3)]
    with pytest.raises(ChannelError) as caught:
        await pagerduty.send(make_notification(*alerts))
    assert "(after 1 of 3 events were accepted)" in str(caught.value)
    assert caught.value.status_code == 500 and caught.value.retryable
    assert len(receiver.requests) == 2  # stopped at the failure


def test_default_url_is_pagerdutys_events_endpoint() -> None:
    config = PagerDutyConfig.parse({"routing_key": ROUTING_KEY})
    assert config.url == PAGERDUTY_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"
