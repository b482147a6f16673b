"""Anomaly alerts over HTTP: a real server on a fake clock scans what was ingested,
raises an ``anomaly`` alert that names the series, the expected range and the
observed value, never re-alerts a scanned minute (not even after a restart), and
resolves by the clear period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock, ValidationError
from monitorx.server.app import create_app
from tests.conftest import make_settings, run_server
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MINUTE = 60.0
SCAN_INTERVAL_S = 0.05  # real seconds between scans in these tests
CLEAR_PERIOD_S = 300.0


def _settings(tmp_path: Path, **overrides: object) -> Any:
    values: dict[str, object] = {
        "anomaly_scan_interval_s": SCAN_INTERVAL_S,
        "alert_tick_s": SCAN_INTERVAL_S,
        "alert_clear_period_s": CLEAR_PERIOD_S,
        **overrides,
    }
    return make_settings(tmp_path / "data", **values)


def _minute_points(start_s: float, latencies: list[float]) -> list[dict[str, Any]]:
    step = MINUTE / len(latencies)
    return [
        {"model_id": "ranker", "latency": value, "timestamp": start_s + i * step}
        for i, value in enumerate(latencies)
    ]


def _ingest(api: httpx.Client, points: list[dict[str, Any]]) -> None:
    response = api.post("/metrics/inference/batch", json=points)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == len(points)


def _history_with_spike(api: httpx.Client, spike_ms: float) -> None:
    """Three hours of ~100 ms latency, 4 requests a minute, up to 11:59; the
    11:57 minute is ``spike_ms`` throughout."""
    rng = np.random.default_rng(11)
    end = NOW.timestamp() - MINUTE
    points: list[dict[str, Any]] = []
    for minute in range(180, 0, -1):
        start = end - minute * MINUTE
        normal = [float(v) for v in 100 + rng.normal(0, 5, 4)]
        points += _minute_points(start, [spike_ms] * 4 if minute == 2 else normal)
    _ingest(api, points)


def _anomalies(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = api.get(
        "/alerts", params={"alert_type": "anomaly", **params}
    ).json()
    return alerts


def _by_labels(alerts: list[dict[str, Any]], series: str, detector: str) -> dict[str, Any]:
    return next(a for a in alerts if a["labels"] == {"series": series, "detector": detector})


def _labelled(series: str, detector: str) -> Callable[[list[dict[str, Any]]], bool]:
    def holds(alerts: list[dict[str, Any]]) -> bool:
        return any(a["labels"] == {"series": series, "detector": detector} for a in alerts)

    return holds


def _register(api: httpx.Client) -> None:
    assert api.put("/models/ranker", json={"model_type": "tabular"}).status_code in (200, 201)


def test_a_latency_spike_raises_an_anomaly_alert_that_says_what_and_where(
    tmp_path: Path,
) -> None:
    clock = FakeClock(NOW)
    with (
        run_server(_settings(tmp_path), clock=clock) as live,
        httpx.Client(base_url=live.api, timeout=30) as api,
    ):
        # Registered once its history is in: the scan watches registered models.
        _history_with_spike(api, 450.0)
        _register(api)
        alerts = eventually(
            lambda: _anomalies(api),
            lambda found: (
                _labelled("latency_p95", "robust_z")(found)
                and _labelled("latency_mean", "robust_z")(found)
            ),
        )
        alert = _by_labels(alerts, "latency_p95", "robust_z")
        assert alert["model_id"] == "ranker"
        assert alert["status"] == "firing"
        assert alert["value"] == 450.0
        assert 100 < alert["threshold"] < 450  # the top of the expected range
        assert alert["severity"] == "high"  # z far past 1.5 × the threshold
        message = alert["message"]
        assert message.startswith("latency p95 450 ms outside the expected ")
        assert "(robust z " in message and "at 2026-11-22 11:57 UTC" in message
        low, high = message.split("expected ")[1].split(" (")[0].split("–")
        assert float(low.removesuffix(" ms")) < 100 < float(high.removesuffix(" ms")) < 450
        # The spike is in the mean too; throughput and errors did not move.
        assert {a["labels"]["series"] for a in alerts} == {"latency_p95", "latency_mean"}


def test_a_scanned_minute_never_alerts_again_and_the_alert_clears(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    settings = _settings(tmp_path)
    with (
        run_server(settings, clock=clock) as live,
        httpx.Client(base_url=live.api, timeout=30) as api,
    ):
        # Registered once its history is in: the scan watches registered models.
        _history_with_spike(api, 450.0)
        _register(api)
        first = _by_labels(
            eventually(lambda: _anomalies(api), _labelled("latency_p95", "robust_z")),
            "latency_p95",
            "robust_z",
        )
        api.post(f"/alerts/{first['id']}/resolve").raise_for_status()

    # A restart on the same data: the scan position was kept.
    with (
        run_server(settings, clock=clock) as live,
        httpx.Client(base_url=live.api, timeout=30) as api,
    ):
        # The next minute brings ten times the usual traffic at the usual latency.
        _ingest(api, _minute_points(NOW.timestamp() - MINUTE, [100.0] * 40))
        clock.advance(MINUTE)
        alerts = eventually(lambda: _anomalies(api), _labelled("throughput", "robust_z"))
        surge = _by_labels(alerts, "throughput", "robust_z")
        assert surge["message"].startswith("throughput 40 requests/min outside the expected ")
        # The 11:57 spike was scanned before the restart: no new latency alert.
        latency = [a for a in alerts if a["labels"] == first["labels"]]
        assert [a["id"] for a in latency] == [first["id"]]
        assert latency[0]["status"] == "resolved"

        # No further anomaly: the throughput alert resolves after the clear period.
        clock.advance(CLEAR_PERIOD_S)
        resolved = eventually(
            lambda: api.get(f"/alerts/{surge['id']}").json(),
            lambda a: a["status"] == "resolved",
        )
        assert resolved["resolved"] is True


def test_an_unknown_detector_in_the_settings_stops_the_server_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        create_app(_settings(tmp_path, anomaly_detectors=["robust_z", "prophet"]))
    assert info.value.errors[0].field == "anomaly_detectors"
    assert "'prophet'" in str(info.value)
