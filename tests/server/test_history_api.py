"""Long ranges through the API: past the raw retention, aggregates come from rollups
and say so in ``X-MonitorX-Resolution``; the scheduler runs rollups and retention."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from monitorx.core import FakeClock
from tests.conftest import make_settings, run_server

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_old_ranges_are_answered_from_rollups(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    settings = make_settings(
        tmp_path / "data",
        retention_raw_s=3600,
        lifecycle_interval_s=0.2,
        cold_tier_url=str(tmp_path / "cold"),
    )
    rng = np.random.default_rng(5)
    first = NOW - timedelta(hours=3)
    latencies = rng.lognormal(3, 0.3, 180)
    metrics = [
        {
            "model_id": "hist",
            "latency": float(latency),
            "timestamp": (first + timedelta(minutes=i, seconds=10)).isoformat(),
        }
        for i, latency in enumerate(latencies)
    ]
    with run_server(settings, clock) as server, httpx.Client(base_url=server.api) as api:
        assert api.post("/metrics/inference/batch", json=metrics).status_code == 202
        params = {
            "model_id": "hist",
            "agg": "mean",
            "interval": "600",
            "start": first.isoformat(),
            "end": NOW.isoformat(),
        }
        deadline = time.monotonic() + 20
        while True:
            answer = api.get("/metrics/aggregate", params=params)
            raw_left = api.get(
                "/metrics/inference",
                params={"model_id": "hist", "start": first.isoformat(), "limit": 10_000},
            ).json()
            if answer.headers["X-MonitorX-Resolution"] == "1m" and len(raw_left) == 60:
                break
            assert time.monotonic() < deadline, "the lifecycle never ran"
            time.sleep(0.2)

        assert answer.status_code == 200
        assert answer.headers["X-MonitorX-Interval"] == "600"
        expected = [latencies[k : k + 10].mean() for k in range(0, 180, 10)]
        assert len(answer.json()) == 18
        assert np.allclose([b["value"] for b in answer.json()], expected, rtol=1e-9)

        # Raw points older than the retention were exported before they were deleted.
        assert list((tmp_path / "cold").rglob("*.parquet"))

        recent = api.get(
            "/metrics/aggregate",
            params={"model_id": "hist", "start": (NOW - timedelta(minutes=30)).isoformat()},
        )
        assert recent.headers["X-MonitorX-Resolution"] == "raw"
