"""Data posted through the API for the browser tests, on the real clock (the browser
computes its time ranges from its own clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

BUCKET_S = 30  # the dashboard's bucket width for a 1 h range (200 points at most)


def aligned_now() -> datetime:
    """Now, rounded down to a bucket boundary, so each posted minute has its own bucket."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now - timedelta(seconds=now.timestamp() % BUCKET_S)


def minute_series(model_id: str, latencies: list[float], **extra: Any) -> list[dict[str, Any]]:
    """One metric a minute ending two minutes ago, with the given latencies in order."""
    end = aligned_now() - timedelta(minutes=2)
    start = end - timedelta(minutes=len(latencies) - 1)
    return [
        {
            "model_id": model_id,
            "latency": latency,
            "timestamp": (start + timedelta(minutes=i)).isoformat(),
            "resource_usage": {"cpu_percent": 20.0 + i, "memory_mb": 1000.0},
            **extra,
        }
        for i, latency in enumerate(latencies)
    ]


def post_batch(api: httpx.Client, metrics: list[dict[str, Any]]) -> None:
    for start in range(0, len(metrics), 10_000):
        response = api.post("/metrics/inference/batch", json=metrics[start : start + 10_000])
        assert response.status_code == 202, response.text
        assert response.json()["rejected"] == []
