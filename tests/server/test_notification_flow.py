"""From a breach to a receiver, over HTTP, on a fake clock: grouping, dedup, repeat,
resolve, silences, inhibition, escalation, retries, rate limits and restarts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitorx.alerting.notify.notification import fingerprint
from monitorx.core import FakeClock
from tests.http_receiver import HttpReceiver, wait_until
from tests.server.notify_helpers import (
    START,
    alerts,
    breach,
    model,
    notifications,
    notifying_server,
    route,
    webhook,
)

NOW = START  # where the fake clock (`clock`, tests/conftest.py) starts


def _quiet(receiver: HttpReceiver, seconds: float = 0.3) -> int:
    """How many requests arrived after waiting a few ticks (for "nothing is sent")."""
    time.sleep(seconds)
    return len(receiver.requests)


def test_a_breach_reaches_the_webhook_in_alertmanager_format(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock) as (_, api):
        webhook(api, "ops-hook", receiver.url())
        route(api, "all", ["ops-hook"], group_by=["model_id", "alertname"])
        model(api)
        breach(api, latency=130.0)
        (request,) = receiver.wait_for(1)
        (alert,) = alerts(api)
    body = request.json()
    labels = {"alertname": "latency", "model_id": "fraud-v3", "severity": "medium"}
    assert body["version"] == "4" and body["status"] == "firing"
    assert body["receiver"] == "ops-hook"
    assert body["groupKey"] == '{all}:{alertname="latency",model_id="fraud-v3"}'
    assert body["groupLabels"] == {"alertname": "latency", "model_id": "fraud-v3"}
    assert body["commonLabels"] == labels
    assert body["externalURL"] == "http://monitorx.test"
    (sent,) = body["alerts"]
    assert sent["labels"] == labels
    assert sent["annotations"]["summary"] == alert["message"]
    assert sent["startsAt"].startswith("2026-03-02T09:00:00")
    assert sent["endsAt"] == "0001-01-01T00:00:00Z"
    assert sent["fingerprint"] == fingerprint({"alertname": "latency", "model_id": "fraud-v3"})
    assert sent["generatorURL"] == f"http://monitorx.test/api/v1/alerts/{alert['id']}"


def test_alerts_within_group_wait_go_out_together_then_updates_are_deduplicated(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, alert_clear_period_s=10 * 86400) as (_, api):
        webhook(api, "hook", receiver.url())
        route(api, "all", ["hook"], group_wait="30s", group_interval="5m", repeat_interval="4h")
        for name in ("a", "b"):
            model(api, name)
        breach(api, "a")
        alerts(api, 1)
        clock.advance(10)
        breach(api, "b")
        alerts(api, 2)
        assert _quiet(receiver) == 0  # still inside group_wait
        clock.advance(20)
        (first,) = receiver.wait_for(1)
        assert sorted(a["labels"]["model_id"] for a in first.json()["alerts"]) == ["a", "b"]
        # Further breaches update the alerts; nothing new fires, so nothing is sent …
        breach(api, "a", latency=180.0)
        clock.advance(300)  # … at the next group_interval either
        assert _quiet(receiver) == 1
        # … until the repeat interval has passed since the last notification.
        clock.advance(4 * 3600)
        (_, repeat) = receiver.wait_for(2)
        assert len(repeat.json()["alerts"]) == 2
        assert {a["labels"]["severity"] for a in repeat.json()["alerts"]} == {"medium", "high"}


def test_a_resolve_is_sent_to_receivers_that_want_it(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    quiet = HttpReceiver()
    quiet.start()
    try:
        with notifying_server(tmp_path, clock) as (_, api):
            webhook(api, "wants", receiver.url())
            webhook(api, "quiet", quiet.url(), send_resolved=False)
            route(api, "all", ["wants", "quiet"], group_interval="1m")
            model(api)
            breach(api)
            (alert,) = alerts(api)
            receiver.wait_for(1)
            quiet.wait_for(1)
            assert api.post(f"/alerts/{alert['id']}/resolve").status_code == 200
            clock.advance(60)
            (_, resolved) = receiver.wait_for(2)
            assert resolved.json()["status"] == "resolved"
            assert resolved.json()["alerts"][0]["endsAt"].startswith("2026-03-02T09:00:00")
            assert _quiet(quiet) == 1
            log = notifications(api, alert["id"], 3)
        assert {(e["channel"], e["outcome"]) for e in log} == {
            ("wants", "delivered"),
            ("quiet", "delivered"),
        }
        assert [e["channel"] for e in log].count("wants") == 2
    finally:
        quiet.stop()


def test_silenced_alerts_are_kept_but_not_sent_until_the_silence_expires(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, alert_clear_period_s=86400) as (_, api):
        webhook(api, "hook", receiver.url())
        route(api, "all", ["hook"], group_interval="1m")
        model(api)
        silence = {
            "matchers": ['model_id=~"fraud-.*"'],
            "duration": "1h",
            "created_by": "ana",
            "comment": "deploying",
        }
        silence_id = api.post("/silences", json=silence).json()["id"]
        breach(api)
        assert alerts(api)[0]["status"] == "firing"  # stored and shown
        clock.advance(120)
        assert _quiet(receiver) == 0
        api.delete(f"/silences/{silence_id}")
        clock.advance(60)
        (request,) = receiver.wait_for(1)
        assert request.json()["alerts"][0]["labels"]["model_id"] == "fraud-v3"


def test_a_critical_alert_inhibits_the_lesser_ones_of_its_model(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock) as (_, api):
        webhook(api, "hook", receiver.url())
        route(api, "all", ["hook"], group_by=["alertname", "model_id"])
        model(api, "m", latency_ms=100.0, cpu_percent=50.0)
        model(api, "other", cpu_percent=50.0)
        body = {"model_id": "m", "latency": 400.0, "resource_usage": {"cpu_percent": 55.0}}
        assert api.post("/metrics/inference", json=body).status_code == 202
        breach_other = {"model_id": "other", "latency": 1.0, "resource_usage": {"cpu_percent": 55}}
        assert api.post("/metrics/inference", json=breach_other).status_code == 202
        alerts(api, 3)
        requests = receiver.wait_for(2)
        assert _quiet(receiver) == 2
    sent = sorted(
        (a["labels"]["model_id"], a["labels"]["alertname"], a["labels"]["severity"])
        for r in requests
        for a in r.json()["alerts"]
    )
    assert sent == [("m", "latency", "critical"), ("other", "resource_usage", "low")]


def test_an_unacknowledged_alert_escalates_and_an_acknowledged_one_does_not(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    oncall = HttpReceiver()
    oncall.start()
    try:
        with notifying_server(tmp_path, clock, alert_clear_period_s=86400) as (_, api):
            webhook(api, "team", receiver.url())
            webhook(api, "oncall", oncall.url())
            escalate = [{"after": "15m", "channels": ["oncall"]}]
            route(api, "all", ["team"], group_by=["model_id"], escalate=escalate)
            model(api, "a")
            model(api, "b")
            breach(api, "a")
            breach(api, "b")
            by_model = {a["model_id"]: a for a in alerts(api, 2)}
            alert_a, alert_b = by_model["a"], by_model["b"]
            receiver.wait_for(2)
            api.post(f"/alerts/{alert_b['id']}/acknowledge")
            clock.advance(14 * 60)
            assert _quiet(oncall) == 0
            clock.advance(60)
            (request,) = oncall.wait_for(1)
            assert [a["labels"]["model_id"] for a in request.json()["alerts"]] == ["a"]
            clock.advance(3600)
            assert _quiet(oncall) == 1  # each step once
            # The resolve follows the escalation.
            api.post(f"/alerts/{alert_a['id']}/resolve")
            (_, resolved) = oncall.wait_for(2)
            assert resolved.json()["status"] == "resolved"
    finally:
        oncall.stop()


def test_a_receiver_that_is_down_for_a_while_gets_the_alert_once_it_is_back(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock) as (_, api):
        webhook(api, "hook", receiver.url())
        route(api, "all", ["hook"])
        model(api)
        for _ in range(3):
            receiver.answer(503, "maintenance")
        breach(api)
        (alert,) = alerts(api)
        receiver.wait_for(1)
        # Backoff 1 s, 2 s, 4 s (± 20 % jitter) on the fake clock; nothing sooner.
        for attempt, base in ((2, 1.0), (3, 2.0), (4, 4.0)):
            clock.advance(0.75 * base)
            assert _quiet(receiver, 0.1) == attempt - 1
            clock.advance(0.5 * base)
            receiver.wait_for(attempt)
        requests = receiver.requests
        log = notifications(api, alert["id"], 4)
    assert [e["outcome"] for e in log] == ["failed", "failed", "failed", "delivered"]
    assert [e["attempt"] for e in log] == [1, 2, 3, 4]
    assert log[0]["status_code"] == 503 and "maintenance" in log[0]["error"]
    assert requests[0].body == requests[3].body


def test_a_channel_is_rate_limited_and_delays_rather_than_drops(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, alert_clear_period_s=86400) as (_, api):
        webhook(api, "hook", receiver.url(), rate_limit={"max": 2, "window": "1m"})
        route(api, "all", ["hook"], group_by=["model_id"])
        for name in "abcde":
            model(api, name)
            breach(api, name)
        alerts(api, 5)
        receiver.wait_for(2)
        assert _quiet(receiver) == 2
        clock.advance(61)
        receiver.wait_for(4)
        assert _quiet(receiver) == 4
        clock.advance(61)
        requests = receiver.wait_for(5)
    assert sorted(r.json()["alerts"][0]["labels"]["model_id"] for r in requests) == list("abcde")


def test_pending_deliveries_and_the_notification_log_survive_a_restart(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, alert_clear_period_s=86400) as (_, api):
        webhook(api, "hook", receiver.url())
        route(api, "all", ["hook"], group_by=["model_id"])
        model(api, "delivered")
        breach(api, "delivered")
        receiver.wait_for(1)
        receiver.default.status = 503  # down from now on
        model(api, "pending")
        breach(api, "pending")
        receiver.wait_for(2)  # the first attempt failed
    receiver.default.status = 200
    clock.advance(5)
    with notifying_server(tmp_path, clock, alert_clear_period_s=86400) as (_, api):
        requests = receiver.wait_for(3)
        assert _quiet(receiver) == 3  # the delivered alert is not sent again
        (pending,) = [a for a in api.get("/alerts").json() if a["model_id"] == "pending"]
        log = notifications(api, pending["id"], 2)
    assert requests[2].json()["alerts"][0]["labels"]["model_id"] == "pending"
    assert [e["outcome"] for e in log] == ["failed", "delivered"]


def test_acknowledging_an_alert_acknowledges_its_pagerduty_incident(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    key = "0123456789abcdef0123456789abcdef"
    with notifying_server(tmp_path, clock) as (_, api):
        config = {"routing_key": key, "url": receiver.url("/v2/enqueue")}
        body = {"id": "pd", "type": "pagerduty", "config": config}
        assert api.post("/channels", json=body).status_code == 201
        route(api, "critical", ["pd"], matchers={"severity": "critical"})
        model(api)
        breach(api, latency=500.0)
        (alert,) = alerts(api)
        (trigger,) = receiver.wait_for(1)
        api.post(f"/alerts/{alert['id']}/acknowledge")
        (_, ack) = receiver.wait_for(2)
        log = notifications(api, alert["id"], 2)
    assert trigger.json()["event_action"] == "trigger"
    assert ack.json() == {
        "routing_key": key,
        "event_action": "acknowledge",
        "dedup_key": trigger.json()["dedup_key"],
    }
    assert [e["outcome"] for e in log] == ["delivered", "delivered"]


def test_in_process_handlers_hear_every_transition(tmp_path: Path, clock: FakeClock) -> None:
    from tests.server import alert_handler_sample as sample

    sample.EVENTS.clear()
    handlers = ["tests.server.alert_handler_sample:record"]
    with notifying_server(tmp_path, clock, alert_handlers=handlers) as (_, api):
        model(api)
        breach(api)
        (alert,) = alerts(api)
        api.post(f"/alerts/{alert['id']}/acknowledge")
        api.post(f"/alerts/{alert['id']}/resolve")
        wait_until(lambda: len(sample.EVENTS) >= 3)
    assert [
        ("fired", alert["id"]),
        ("acknowledged", alert["id"]),
        ("resolved", alert["id"]),
    ] == sample.EVENTS


def test_a_handler_that_cannot_be_loaded_stops_startup(tmp_path: Path, clock: FakeClock) -> None:
    with (
        pytest.raises(Exception, match="no_such_module"),
        notifying_server(tmp_path, clock, alert_handlers=["no_such_module:f"]),
    ):
        pass


def test_a_replica_with_notifications_off_sends_nothing(
    tmp_path: Path, clock: FakeClock, receiver: HttpReceiver
) -> None:
    with notifying_server(tmp_path, clock, notify_enabled=False) as (_, api):
        webhook(api, "hook", receiver.url())
        route(api, "all", ["hook"])
        model(api)
        breach(api)
        (alert,) = alerts(api)
        assert _quiet(receiver) == 0
        assert api.get(f"/alerts/{alert['id']}/notifications").json() == []
