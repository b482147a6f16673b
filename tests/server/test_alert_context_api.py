"""An alert's context and its notification's hint, as the on-call engineer meets
them: a latency spike confined to region eu, a deploy to eu posted three minutes
before it. The alert's context ranks region=eu first (with both shares), lists the
deploy, the other model's alert that fired beside it and the error logs around
the start, with links; the webhook's notification names region=eu and the deploy
in its ``hint``. Runs on every backend (tests/backends.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from monitorx.core import FakeClock
from tests.http_receiver import HttpReceiver, wait_until
from tests.server.notify_helpers import START, alerts, model, notifying_server, route

NOW = START
HOSTS = ["web-1", "web-2", "web-3", "web-4"]


def _at(minutes_before: float) -> str:
    return (NOW - timedelta(minutes=minutes_before)).isoformat()


def _traffic(api: httpx.Client) -> None:
    """20 minutes of normal traffic over three regions, then the eu spike."""
    normal = [
        {
            "model_id": "fraud-v3",
            "latency": 40.0 + i % 20,
            "timestamp": _at(25 - i * 0.1),
            "tags": {"region": ["eu", "us", "ap"][i % 3], "host": HOSTS[i % 4]},
        }
        for i in range(200)
    ]
    assert api.post("/metrics/inference/batch", json=normal).status_code == 202
    deploy = {
        "timestamp": _at(3),
        "event_type": "model_deploy",
        "model_id": "fraud-v3",
        "source": "ci",
        "message": "fraud-v3 v2 rolled out to eu",
        "tags": ["deploy"],
    }
    assert api.post("/events", json=[deploy]).status_code == 202
    unrelated = {
        "timestamp": _at(2),
        "event_type": "model_deploy",
        "model_id": "churn",
        "message": "churn v7 deployed",
    }
    assert api.post("/events", json=[unrelated]).status_code == 202
    logs = [
        {
            "timestamp": _at(1),
            "severity": "error",
            "model_id": "fraud-v3",
            "message": "eu feature store timeout",
        },
        {"timestamp": _at(1), "severity": "info", "model_id": "fraud-v3", "message": "served"},
    ]
    assert api.post("/logs", json=logs).status_code == 202
    spike = [
        {
            "model_id": "fraud-v3",
            "latency": 300.0 + i if region == "eu" else 50.0,
            "timestamp": _at(1 - i * 0.02),
            "tags": {"region": region, "host": HOSTS[i % 4]},
        }
        for i in range(40)
        for region in ("eu", "us", "ap")
    ]
    assert api.post("/metrics/inference/batch", json=spike).status_code == 202


def test_a_spike_confined_to_eu_after_a_deploy_is_explained_and_the_notification_names_it(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path / "data", clock) as (live, api):
        webhook = {"id": "ops", "type": "webhook", "config": {"url": receiver.url()}}
        assert api.post("/channels", json=webhook).status_code == 201
        # The group waits a second of the server's clock: time for the hint.
        route(api, "all", ["ops"], group_by=["model_id", "alertname"], group_wait="1s")
        model(api, "fraud-v3", latency_ms=100.0)
        model(api, "ranker", latency_ms=100.0)
        _traffic(api)
        other = {"model_id": "ranker", "latency": 500.0, "timestamp": _at(0.5)}
        assert api.post("/metrics/inference", json=other).status_code == 202
        (alert,) = alerts(api, model_id="fraud-v3", alert_type="latency")
        alerts(api, model_id="ranker")

        context = api.get(f"/alerts/{alert['id']}/context")
        assert context.status_code == 200, context.text
        body: dict[str, Any] = context.json()
        top = body["labels"][0]
        assert (top["label"], top["value"]) == ("region", "eu")
        assert top["breach_share"] == 1.0
        assert top["normal_share"] == round(67 / 280, 4)  # eu among the points under 100 ms
        assert top["breaching_points"] == 40
        assert "group_by=region" in top["link"]
        assert all(h["label"] != "host" for h in body["labels"])
        first_event = body["events"][0]
        assert first_event["message"] == "fraud-v3 v2 rolled out to eu"
        assert first_event["minutes_before_start"] > 0
        assert "churn v7 deployed" not in [e["message"] for e in body["events"]]
        assert [a["model_id"] for a in body["related_alerts"]] == ["ranker"]
        assert body["related_alerts"][0]["link"].startswith("/api/v1/alerts/")
        assert [log["message"] for log in body["logs"]] == ["eu feature store timeout"]
        assert body["links"]["logs"].startswith("/api/v1/logs?model_id=fraud-v3")
        assert body["hint"].startswith("region=eu: 100% of breaching points")

        # The notifier computed its own hint in the background when the alert fired;
        # the group, waiting a second of the server's clock, goes out with it.
        notifier = live.services.notifier
        wait_until(lambda: notifier.hint_of(alert["id"]) is not None)
        assert notifier.hint_of(alert["id"]) == body["hint"]
        clock.advance(2)
        wait_until(lambda: any(_fraud_alerts(r.json()) for r in receiver.requests))
        (sent,) = [a for r in receiver.requests for a in _fraud_alerts(r.json())]
        hint = sent["annotations"]["hint"]
        assert "region=eu" in hint
        assert "model_deploy 3 min before: fraud-v3 v2 rolled out to eu" in hint

        assert api.get("/alerts/no-such-alert/context").status_code == 404


def _fraud_alerts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in payload["alerts"] if a["labels"].get("model_id") == "fraud-v3"]
