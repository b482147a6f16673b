"""Scheduled drift runs and the HTML drift report over HTTP: a real server on a fake
clock, a reference and shifted records sent through API.md's endpoints; runs stored
as drift metrics, charted by /metrics/drift, alerting through drift_confidence."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TICK_S = 0.1  # the scheduler looks for due schedules this often (real seconds)


@pytest.fixture
def server_settings() -> dict[str, object]:
    return {"drift_schedule_tick_s": TICK_S}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def _setup(api: httpx.Client, model: str = "fraud-v3", shift: float = 3.0) -> None:
    """A reference of 200 rows and 150 records in the last half hour, ``amount``
    shifted by ``shift`` standard deviations, ``country`` unchanged."""
    rng = np.random.default_rng(11)
    countries = ["fr", "de", "it"]
    reference = [
        {"amount": float(a), "country": countries[i % 3]}
        for i, a in enumerate(rng.normal(0, 1, 200).round(6))
    ]
    assert api.put(f"/models/{model}/reference", json={"rows": reference}).status_code == 200
    start = NOW - timedelta(minutes=30)
    records = [
        {
            "features": {"amount": float(a), "country": countries[i % 3]},
            "timestamp": (start + timedelta(seconds=10 * i)).isoformat(),
        }
        for i, a in enumerate(rng.normal(shift, 1, 150).round(6))
    ]
    response = api.post(f"/models/{model}/records", json=records)
    assert response.status_code == 202, response.text


def _drift_metrics(api: httpx.Client, model: str = "fraud-v3") -> list[dict[str, Any]]:
    # Runs are stamped with the clock's now; `end` is exclusive.
    params = {"model_id": model, "start": "2026-11-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"}
    found: list[dict[str, Any]] = api.get("/metrics/drift", params=params).json()
    return found


def _data_metrics(api: httpx.Client, model: str = "fraud-v3") -> list[dict[str, Any]]:
    return [m for m in _drift_metrics(api, model) if m["drift_type"] == "data"]


def test_scheduled_run_stores_drift_metrics_and_raises_a_drift_alert(
    api: httpx.Client,
) -> None:
    model = {"id": "fraud-v3", "model_type": "tabular", "thresholds": {"drift_confidence": 0.4}}
    assert api.post("/models", json=model).status_code == 201
    _setup(api)
    schedule = {"window": "1h", "interval": "15m"}
    response = api.put("/models/fraud-v3/drift-schedule", json=schedule)
    assert response.status_code == 201, response.text
    assert response.json()["last_run"] is None

    (data,) = eventually(lambda: _data_metrics(api), bool)
    # One of two features drifted: share 0.5, above the 0.4 threshold.
    assert data["score"] == 0.5 and data["confidence"] == 0.5
    # A run writes its metrics one by one: wait for the last of them.
    found = eventually(
        lambda: [m for m in _drift_metrics(api) if m["drift_type"] == "feature"],
        lambda metrics: len(metrics) == 2,
    )
    features = {m["feature"]: m for m in found}
    assert set(features) == {"amount", "country"}
    assert features["amount"]["confidence"] > 0.99  # ks on 200 rows: 1 − p-value

    alerts = eventually(lambda: api.get("/alerts", params={"alert_type": "drift"}).json(), bool)
    assert alerts[0]["model_id"] == "fraud-v3"
    assert alerts[0]["status"] == "firing"

    last_run = api.get("/models/fraud-v3/drift-schedule").json()["last_run"]
    assert last_run["outcome"] == "analyzed"
    assert last_run["dataset_drift"] is True
    assert last_run["current_rows"] == 150


def test_runs_follow_the_interval_on_the_clock(api: httpx.Client, clock: FakeClock) -> None:
    _setup(api)
    api.put("/models/fraud-v3/drift-schedule", json={"window": "1h", "interval": "15m"})
    eventually(lambda: _data_metrics(api), bool)
    clock.advance(5 * 60)
    time.sleep(5 * TICK_S)  # several ticks: none may run before the interval has passed
    assert len(_data_metrics(api)) == 1
    clock.advance(10 * 60)
    runs = eventually(lambda: _data_metrics(api), lambda found: len(found) == 2)
    assert len(runs) == 2


def test_run_without_reference_says_so_and_stores_nothing(api: httpx.Client) -> None:
    api.put("/models/bare/drift-schedule", json={"window": "1h", "interval": "1m"})
    body = eventually(
        lambda: api.get("/models/bare/drift-schedule").json(), lambda b: b["last_run"]
    )
    assert body["last_run"]["outcome"] == "skipped"
    assert "no reference" in body["last_run"]["detail"]
    assert _data_metrics(api, "bare") == []


def test_schedule_is_refused_by_field_and_can_be_removed(api: httpx.Client) -> None:
    bad = api.put("/models/m/drift-schedule", json={"window": "1h"})
    assert bad.status_code == 422 and "interval" in bad.text
    bad = api.put(
        "/models/m/drift-schedule", json={"window": "1h", "interval": "5m", "stattest": "nope"}
    )
    assert bad.status_code == 422 and "stattest" in bad.text
    assert api.get("/models/m/drift-schedule").status_code == 404
    ok = {"window": "2h", "interval": "30m", "stattest": "psi", "threshold": 0.2}
    assert api.put("/models/m/drift-schedule", json=ok).status_code == 201
    assert api.put("/models/m/drift-schedule", json=ok).status_code == 200
    assert api.delete("/models/m/drift-schedule").status_code == 204
    assert api.delete("/models/m/drift-schedule").status_code == 404


def test_html_report_downloads_one_self_contained_page(api: httpx.Client) -> None:
    _setup(api)
    response = api.get(
        "/models/fraud-v3/drift/report.html",
        params={"start": (NOW - timedelta(hours=1)).isoformat()},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "attachment" in response.headers["content-disposition"]
    page = response.text
    assert page.count("<svg") == 2
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    text = re.sub(r"<[^>]+>", " ", page)
    assert re.search(r"amount\s+numerical\s+ks\s+[\d.e-]+\s+[\d.e-]+\s+0\.05\s+drifted", text)
    assert re.search(r"country\s+categorical\s+chisquare\s+.*?stable", text)
    assert "current 150 rows" in text


def test_html_report_without_reference_or_records_is_409(api: httpx.Client) -> None:
    assert api.get("/models/nothing/drift/report.html").status_code == 409
    api.put("/models/empty/reference", json={"rows": [{"a": 1.0}, {"a": 2.0}]})
    response = api.get("/models/empty/drift/report.html")
    assert response.status_code == 409
    assert "no records" in response.json()["detail"]
