"""API.md's drift metrics, summary, alerts and health, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock
from tests.conftest import LiveServer, make_settings, run_server


def _wait_for_alerts(api: httpx.Client, count: int = 1, **params: str) -> list[dict[str, object]]:
    """Poll for up to a second: API.md promises a firing alert within one."""
    deadline = time.monotonic() + 1.0
    while True:
        alerts: list[dict[str, object]] = api.get("/alerts", params=params).json()
        if len(alerts) >= count or time.monotonic() > deadline:
            return alerts
        time.sleep(0.02)


def _model(api: httpx.Client, model_id: str = "m", **thresholds: float) -> None:
    body = {"model_type": "tabular", "thresholds": thresholds}
    assert api.put(f"/models/{model_id}", json=body).status_code in (200, 201)


ALERT_FIELDS = {
    "id", "model_id", "alert_type", "severity", "status", "message", "value", "threshold",
    "timestamp", "resolved", "resolved_at", "acknowledged",
}  # fmt: skip


# Drift metrics -----------------------------------------------------------------------


def test_drift_metrics_are_listed_newest_first(api: httpx.Client) -> None:
    now = datetime.now(UTC)
    for minutes, confidence in ((3, 0.5), (1, 0.7), (2, 0.6)):
        body = {
            "model_id": "m",
            "drift_type": "feature",
            "feature": "amount",
            "confidence": confidence,
            "timestamp": (now - timedelta(minutes=minutes)).isoformat(),
        }
        assert api.post("/metrics/drift", json=body).json() == {"accepted": 1}
    listed = api.get("/metrics/drift", params={"model_id": "m"}).json()
    assert [d["confidence"] for d in listed] == [0.7, 0.6, 0.5]
    assert listed[0]["severity"] == "low"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model_id": "m", "drift_type": "data", "confidence": 1.01}, "confidence"),
        ({"model_id": "m", "drift_type": "vibes", "confidence": 0.5}, "drift_type"),
        ({"model_id": "m", "drift_type": "data"}, "confidence"),
        (
            {"model_id": "m", "drift_type": "data", "confidence": 0.5, "severity": "dire"},
            "severity",
        ),
    ],
)
def test_invalid_drift_metrics_are_422(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = api.post("/metrics/drift", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("confidence", "severity"), [(0.84, "low"), (0.85, "medium"), (0.9, "high"), (0.95, "critical")]
)
def test_drift_alert_severity_comes_from_confidence(
    api: httpx.Client, confidence: float, severity: str
) -> None:
    _model(api, drift_confidence=0.8)
    body = {"model_id": "m", "drift_type": "data", "confidence": confidence}
    api.post("/metrics/drift", json=body)
    (alert,) = _wait_for_alerts(api)
    assert (alert["alert_type"], alert["severity"], alert["value"]) == (
        "drift",
        severity,
        confidence,
    )


# Summary -------------------------------------------------------------------------------


def test_summary_matches_numpy_over_the_window(api: httpx.Client) -> None:
    rng = np.random.default_rng(2)
    latency = rng.lognormal(3, 0.5, 400)
    flags = rng.random(400) < 0.1
    own = rng.random(400) / 10
    batch = [
        {"model_id": "m", "latency": float(v), "error": bool(e), "error_rate": float(r)}
        for v, e, r in zip(latency, flags, own, strict=True)
    ]
    batch.append({"model_id": "m", "latency": 5000.0, "timestamp": time.time() - 7200})  # outside
    api.post("/metrics/inference/batch", json=batch)
    summary = api.get("/summary").json()
    assert summary["window_seconds"] == 3600
    (model,) = summary["models"]
    assert model["count"] == 400
    assert model["latency"]["mean"] == pytest.approx(latency.mean())
    for q in (50, 95, 99):
        assert model["latency"][f"p{q}"] == pytest.approx(np.percentile(latency, q))
    assert model["latency"]["max"] == pytest.approx(latency.max())
    assert model["error_rate"] == pytest.approx(np.where(flags, 1.0, own).mean())
    assert model["throughput"] == pytest.approx(400 / 3600)
    assert model["active_alerts"] == 0


def test_summary_window_parameter(api: httpx.Client) -> None:
    api.post("/metrics/inference/batch", json=[
        {"model_id": "m", "latency": 1, "timestamp": time.time() - 200},
        {"model_id": "m", "latency": 2, "timestamp": time.time() - 400},
    ])  # fmt: skip
    summary = api.get("/summary", params={"window": "5m"}).json()
    assert summary["window_seconds"] == 300
    assert summary["models"][0]["count"] == 1
    assert api.get("/summary", params={"window": "0s"}).status_code == 422


def test_model_summary_of_a_quiet_registered_model(api: httpx.Client) -> None:
    _model(api, "quiet")
    assert api.get("/models/quiet/summary").json() == {
        "model_id": "quiet",
        "count": 0,
        "latency": {"mean": None, "p50": None, "p95": None, "p99": None, "max": None},
        "error_rate": None,
        "throughput": 0,
        "active_alerts": 0,
    }


def test_model_summary_knows_unregistered_models_with_data(api: httpx.Client) -> None:
    api.post(
        "/metrics/inference",
        json={"model_id": "old", "latency": 1, "timestamp": time.time() - 7200},
    )
    assert api.get("/models/old/summary").json()["count"] == 0
    assert api.get("/models/never-seen/summary").status_code == 404


# Alerts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latency", "severity"),
    [(124.9, "low"), (125.0, "medium"), (149.9, "medium"), (150.0, "high"), (199.9, "high"),
     (200.0, "critical")],
)  # fmt: skip
def test_latency_breach_fires_within_a_second_with_the_band(
    api: httpx.Client, latency: float, severity: str
) -> None:
    _model(api, latency_ms=100)
    api.post("/metrics/inference", json={"model_id": "m", "latency": latency})
    (alert,) = _wait_for_alerts(api)
    assert alert.keys() >= ALERT_FIELDS
    assert (alert["alert_type"], alert["severity"], alert["status"]) == (
        "latency",
        severity,
        "firing",
    )
    assert (alert["value"], alert["threshold"]) == (latency, 100.0)
    assert alert["resolved"] is False
    assert alert["resolved_at"] is None


def test_a_value_equal_to_the_threshold_does_not_fire(api: httpx.Client) -> None:
    _model(api, latency_ms=100)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 100})
    assert _wait_for_alerts(api) == []


def test_further_breaches_update_the_firing_alert(api: httpx.Client) -> None:
    _model(api, latency_ms=100)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 130})
    (first,) = _wait_for_alerts(api)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 250})
    deadline = time.monotonic() + 1
    while api.get(f"/alerts/{first['id']}").json()["value"] != 250 and time.monotonic() < deadline:
        time.sleep(0.02)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 110})
    time.sleep(0.3)
    (alert,) = api.get("/alerts").json()
    assert alert["id"] == first["id"]
    assert alert["severity"] == "critical"  # rose with the 250 ms breach, did not fall back
    assert alert["value"] == 110


@pytest.mark.parametrize("resource", ["gpu_memory_mb", "cpu_percent", "memory_mb"])
def test_resource_breaches_fire_resource_usage_alerts(api: httpx.Client, resource: str) -> None:
    _model(api, **{resource: 50})
    api.post(
        "/metrics/inference", json={"model_id": "m", "latency": 1, "resource_usage": {resource: 80}}
    )
    (alert,) = _wait_for_alerts(api)
    assert (alert["alert_type"], alert["value"], alert["severity"]) == (
        "resource_usage",
        80,
        "high",
    )


def test_error_rate_a_metric_carries_is_checked(api: httpx.Client) -> None:
    _model(api, error_rate=0.1)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 1, "error_rate": 0.3})
    (alert,) = _wait_for_alerts(api)
    assert (alert["alert_type"], alert["severity"]) == ("error_rate", "critical")


def test_error_flags_fire_once_ten_metrics_are_in_the_last_minute(api: httpx.Client) -> None:
    _model(api, error_rate=0.1)
    api.post("/metrics/inference/batch", json=[{"model_id": "m", "latency": 1, "error": True}] * 3)
    assert _wait_for_alerts(api) == []  # 3 metrics in the window: not yet judged
    api.post("/metrics/inference/batch", json=[{"model_id": "m", "latency": 1}] * 7)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 1, "error": True})
    (alert,) = _wait_for_alerts(api)
    assert alert["alert_type"] == "error_rate"
    assert alert["value"] == pytest.approx(4 / 11)


def test_alert_filters_and_order(api: httpx.Client) -> None:
    _model(api, "a", latency_ms=10)
    _model(api, "b", latency_ms=10, cpu_percent=10)
    api.post("/metrics/inference", json={"model_id": "a", "latency": 11})
    _wait_for_alerts(api, 1)
    api.post(
        "/metrics/inference",
        json={"model_id": "b", "latency": 30, "resource_usage": {"cpu_percent": 11}},
    )
    alerts = _wait_for_alerts(api, 3)
    assert [a["model_id"] for a in alerts][-1] == "a"  # newest first: a's fired first

    def only(**p: str) -> list[tuple[str, str]]:
        return [(a["model_id"], a["alert_type"]) for a in api.get("/alerts", params=p).json()]

    assert only(model_id="a") == [("a", "latency")]
    assert only(alert_type="resource_usage") == [("b", "resource_usage")]
    assert only(severity="critical") == [("b", "latency")]
    assert len(api.get("/alerts", params={"limit": 1}).json()) == 1


def test_resolve_and_acknowledge(api: httpx.Client) -> None:
    _model(api, latency_ms=100)
    api.post("/metrics/inference", json={"model_id": "m", "latency": 130})
    (alert,) = _wait_for_alerts(api)
    acked = api.post(f"/alerts/{alert['id']}/acknowledge").json()
    assert (acked["acknowledged"], acked["status"]) == (True, "firing")
    assert api.get("/summary").json()["models"][0]["active_alerts"] == 1
    resolved = api.post(f"/alerts/{alert['id']}/resolve").json()
    assert (resolved["status"], resolved["resolved"]) == ("resolved", True)
    assert resolved["resolved_at"] is not None
    assert api.get("/summary").json()["models"][0]["active_alerts"] == 0
    api.post("/metrics/inference", json={"model_id": "m", "latency": 130})
    alerts = _wait_for_alerts(api, 2)
    assert len({a["id"] for a in alerts}) == 2  # a breach after resolve opens a new alert


def test_unknown_alert_is_404(api: httpx.Client) -> None:
    assert api.get("/alerts/nope").status_code == 404
    assert api.post("/alerts/nope/resolve").status_code == 404
    assert api.post("/alerts/nope/acknowledge").status_code == 404


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[LiveServer, FakeClock]]:
    clock = FakeClock(datetime.now(UTC))
    settings = make_settings(tmp_path / "data", alert_clear_period_s=300, alert_tick_s=0.05)
    with run_server(settings, clock=clock) as server:
        yield server, clock


def test_alert_resolves_itself_after_the_clear_period(
    clocked: tuple[LiveServer, FakeClock],
) -> None:
    server, clock = clocked
    with httpx.Client(base_url=server.api, timeout=10) as api:
        _model(api, latency_ms=100)
        api.post("/metrics/inference", json={"model_id": "m", "latency": 130})
        (alert,) = _wait_for_alerts(api)
        clock.advance(299)
        time.sleep(0.2)
        assert api.get(f"/alerts/{alert['id']}").json()["status"] == "firing"
        clock.advance(2)
        deadline = time.monotonic() + 2
        while api.get(f"/alerts/{alert['id']}").json()["status"] != "resolved":
            assert time.monotonic() < deadline, "alert did not resolve after the clear period"
            time.sleep(0.02)


# Health and docs -----------------------------------------------------------------------


def test_health_endpoints(api: httpx.Client, live_server: LiveServer) -> None:
    health = api.get("/health").json()
    assert health["status"] == "healthy"
    assert health["version"] == "0.1.0"
    assert health["checks"]["storage"]["status"] == "healthy"
    assert health["checks"]["process"]["rss_mb"] > 0
    assert api.get("/health/live").status_code == 200
    assert api.get("/health/ready").status_code == 200
    paths = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    assert "/api/v1/metrics/inference/batch" in paths
    assert httpx.get(f"{live_server.url}/docs").status_code == 200
    favicon = httpx.get(f"{live_server.url}/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.content[:4] == b"\x00\x00\x01\x00"


def test_unknown_route_is_a_json_404(api: httpx.Client) -> None:
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
