"""Predictive alerts over HTTP: GPU memory ramping towards the model's threshold
raises a ``forecast`` alert hours before the crossing, saying when."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock
from monitorx.evaluation.forecast_scan import eta_text
from tests.conftest import make_settings, run_server
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HOUR = 3600.0
SCAN_INTERVAL_S = 0.05


def _forecasts(api: httpx.Client) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = api.get("/alerts", params={"alert_type": "forecast"}).json()
    return alerts


def _ramp(api: httpx.Client, start_mb: float, mb_per_hour: float) -> None:
    """Six hours of GPU memory, two points a minute, up to NOW."""
    rng = np.random.default_rng(5)
    n = int(6 * HOUR / 30)
    start = NOW.timestamp() - 6 * HOUR
    body = [
        {
            "model_id": "llm",
            "latency": 80.0,
            "timestamp": start + 30 * i,
            "resource_usage": {
                "gpu_memory_mb": start_mb + mb_per_hour * (30 * i / HOUR) + rng.normal(0, 40)
            },
        }
        for i in range(n)
    ]
    response = api.post("/metrics/inference/batch", json=body)
    assert response.status_code == 202, response.text


def test_gpu_memory_ramping_to_its_threshold_is_forecast_hours_ahead(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", forecast_scan_interval_s=SCAN_INTERVAL_S)
    with (
        run_server(settings, clock=FakeClock(NOW)) as live,
        httpx.Client(base_url=live.api, timeout=30) as api,
    ):
        # 12,000 MB six hours ago, +1,000 MB an hour: 18,000 MB now, 20,000 in 2 h.
        # Registered once its history is in (a scan between the chunks of a batch that
        # a store shows one at a time would see a part of the ramp).
        _ramp(api, 12_000, 1_000)
        body = {"model_type": "llm", "thresholds": {"gpu_memory_mb": 20_000}}
        assert api.put("/models/llm", json=body).status_code == 201
        (alert,) = eventually(lambda: _forecasts(api), bool)
        assert alert["model_id"] == "llm"
        assert alert["labels"] == {"series": "gpu_memory_mb"}
        assert alert["threshold"] == 20_000
        assert alert["value"] == pytest.approx(18_000, abs=300)
        assert alert["severity"] == "medium"  # more than an hour ahead
        assert alert["message"].startswith("GPU memory reaches 20,000 MB in about 2 h on model llm")
        # Nothing has crossed: no threshold alert yet.
        assert api.get("/alerts", params={"alert_type": "resource_usage"}).json() == []


def test_a_flat_series_below_its_threshold_is_not_forecast(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", forecast_scan_interval_s=SCAN_INTERVAL_S)
    with (
        run_server(settings, clock=FakeClock(NOW)) as live,
        httpx.Client(base_url=live.api, timeout=30) as api,
    ):
        body = {"model_type": "llm", "thresholds": {"gpu_memory_mb": 20_000}}
        assert api.put("/models/llm", json=body).status_code == 201
        _ramp(api, 15_000, 0)
        # A second model that does ramp is the signal that a scan ran.
        body = {"model_type": "llm", "thresholds": {"gpu_memory_mb": 20_000}}
        assert api.put("/models/llm-2", json=body).status_code == 201
        rng = np.random.default_rng(1)
        start = NOW.timestamp() - 6 * HOUR
        ramp = [
            {
                "model_id": "llm-2",
                "latency": 80.0,
                "timestamp": start + 60 * i,
                "resource_usage": {"gpu_memory_mb": 14_000 + 1_000 * i / 60 + rng.normal(0, 40)},
            }
            for i in range(360)
        ]
        assert api.post("/metrics/inference/batch", json=ramp).status_code == 202
        alerts = eventually(lambda: _forecasts(api), bool)
        assert [a["model_id"] for a in alerts] == ["llm-2"]


@pytest.mark.parametrize(
    ("eta_s", "text"),
    [(0, "about 5 min"), (2400, "about 40 min"), (7000, "about 2 h"), (5400, "about 1.5 h")],
)
def test_eta_in_words(eta_s: float, text: str) -> None:
    assert eta_text(eta_s) == text
