"""Model quality and data quality over HTTP: a real server on a fake clock; records,
labels and a reference sent through API.md's endpoints; metrics read back and
compared with scikit-learn; alerts raised by the scheduled checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn import metrics as skm

from monitorx.core import FakeClock
from tests.conftest import LiveServer, make_settings, run_server
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# The scheduler checks quality this often (real seconds) in these tests.
CHECK_INTERVAL_S = 0.1


@pytest.fixture
def server_settings() -> dict[str, object]:
    return {"quality_check_interval_s": CHECK_INTERVAL_S}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def _log(
    api: httpx.Client,
    model: str,
    predictions: list[Any],
    labels: list[Any],
    at: datetime,
    features: list[dict[str, Any]] | None = None,
    prefix: str = "r",
) -> None:
    """Records with these predictions, one second apart from ``at``, then their labels."""
    records = [
        {
            "request_id": f"{prefix}{i}",
            "features": (features[i] if features else {"x": float(i)}),
            "prediction": p,
            "timestamp": (at + timedelta(seconds=i)).isoformat(),
        }
        for i, p in enumerate(predictions)
    ]
    response = api.post(f"/models/{model}/records", json=records)
    assert response.status_code == 202, response.text
    batch = [{"request_id": f"{prefix}{i}", "label": y} for i, y in enumerate(labels)]
    response = api.post(f"/models/{model}/labels", json=batch)
    assert response.status_code == 202, response.text


def _alerts(api: httpx.Client, model: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(
        "/alerts", params={"model_id": model, "alert_type": "quality", "status": "firing"}
    ).json()
    return found


# Model quality -----------------------------------------------------------------------------


def test_binary_quality_per_window_equals_sklearn(api: httpx.Client) -> None:
    rng = np.random.default_rng(3)
    first = NOW - timedelta(minutes=50)  # 11:10, in the 11:00 window of 15 minutes
    second = NOW - timedelta(minutes=20)  # 11:40, in the 11:30 window
    windows = []
    for prefix, at in (("a", first), ("b", second)):
        labels = rng.integers(0, 2, 120)
        scores = np.clip(labels * 0.5 + rng.normal(0.25, 0.2, 120), 0.01, 0.99).round(4)
        _log(api, "clf", scores.tolist(), labels.tolist(), at, prefix=prefix)
        windows.append((labels, scores))
    body = api.get(
        "/models/clf/quality",
        params={"start": (NOW - timedelta(hours=1)).isoformat(), "interval": "15m"},
    ).json()
    assert body["task"] == "classification"
    assert [w["time"] for w in body["windows"]] == [
        "2026-11-22T11:00:00Z",
        "2026-11-22T11:30:00Z",
    ]
    for got, (labels, scores) in zip(body["windows"], windows, strict=True):
        hard = (scores >= 0.5).astype(int)
        assert got["rows"] == 120
        assert got["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(labels, hard))
        assert got["metrics"]["f1"] == pytest.approx(skm.f1_score(labels, hard))
        assert got["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, scores))
        assert got["metrics"]["log_loss"] == pytest.approx(skm.log_loss(labels, scores))


def test_regression_quality_uses_only_labelled_records(api: httpx.Client) -> None:
    # Whole-number labels would be read as classes: the configured task decides.
    api.put("/models/reg/quality-config", json={"task": "regression"})
    at = NOW - timedelta(minutes=30)
    _log(api, "reg", [10.0, 12.0, 9.0, 50.0], [11.0, 12.0, 7.0], at)  # r3 has no label
    body = api.get("/models/reg/quality", params={"interval": "1h"}).json()
    (window,) = body["windows"]
    assert body["task"] == "regression"
    assert window["rows"] == 3
    assert window["metrics"]["mae"] == pytest.approx(1.0)
    assert window["metrics"]["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert window["metrics"]["r2"] == pytest.approx(skm.r2_score([11, 12, 7], [10, 12, 9]))
    series = api.get("/models/reg/quality", params={"interval": "1h", "metric": "mae"}).json()
    assert series == [{"time": "2026-11-22T11:00:00Z", "value": pytest.approx(1.0)}]
    # A metric of the other task is undefined in every window: an empty series.
    assert api.get("/models/reg/quality", params={"metric": "accuracy"}).json() == []


def test_accuracy_below_its_minimum_raises_a_quality_alert(api: httpx.Client) -> None:
    config = {"interval": "1h", "thresholds": {"accuracy_min": 0.9, "f1_min": 0.1}}
    assert api.put("/models/clf/quality-config", json=config).status_code == 201
    at = NOW - timedelta(minutes=10)
    _log(api, "clf", ["a", "b", "a", "b"] * 10, ["a", "a", "a", "b"] * 10, at)  # 75 %
    (alert,) = eventually(lambda: _alerts(api, "clf"), bool)
    assert alert["labels"] == {"quality": "model", "metric": "accuracy"}
    assert alert["value"] == pytest.approx(0.75)
    assert alert["threshold"] == 0.9
    assert alert["severity"] == "low"  # 0.9 / 0.75 = 1.2
    assert "accuracy 0.75 over 40 labelled records" in alert["message"]
    assert api.get("/models/clf/quality-config").json() == {
        "task": None,
        "interval": 3600.0,
        "thresholds": {"accuracy_min": 0.9, "f1_min": 0.1},
    }


def test_quality_config_is_refused_by_field_and_absent_config_is_404(api: httpx.Client) -> None:
    bad = api.put("/models/m/quality-config", json={"thresholds": {"accuracy_most": 1}})
    assert bad.status_code == 422
    assert "thresholds.accuracy_most" in bad.text
    nan = api.put(
        "/models/m/quality-config",
        content=b'{"thresholds": {"mae_max": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    assert "thresholds.mae_max" in nan.text
    assert api.get("/models/m/quality-config").status_code == 404
    assert api.delete("/models/m/quality-config").status_code == 404
    assert api.put("/models/m/quality-config", json={}).status_code == 201
    assert api.put("/models/m/quality-config", json={}).status_code == 200
    assert api.delete("/models/m/quality-config").status_code == 204
    assert api.get("/models/bad id/quality").status_code == 422


# Data quality ------------------------------------------------------------------------------

REFERENCE = {
    "rows": [
        {"amount": float(a), "country": c}
        for a, c in zip(range(10, 110, 10), ["fr", "de"] * 5, strict=True)
    ]
}


def test_data_quality_of_given_rows_against_the_reference(api: httpx.Client) -> None:
    assert api.put("/models/dq/reference", json=REFERENCE).status_code == 200
    rows = [
        {"amount": 5.0, "country": "fr"},
        {"amount": 50.0, "country": "us"},
        {"amount": None, "country": "us"},
        {"country": "it"},
    ]
    response = api.post("/models/dq/data-quality/analyze", json={"current": {"rows": rows}})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["current_rows"] == 4
    amount, country = report["features"]
    assert amount["feature"] == "amount"
    assert amount["missing_share"] == 0.5
    assert amount["out_of_range_share"] == 0.25
    assert amount["reference_range"] == [10.0, 100.0]
    assert country["new_category_share"] == 0.75
    assert country["new_categories"] == [{"value": "us", "count": 2}, {"value": "it", "count": 1}]


def test_data_quality_rules_raise_one_alert_per_feature_and_check(api: httpx.Client) -> None:
    api.put("/models/dq/reference", json=REFERENCE)
    rules = {"default": {"missing_share": 0.2}, "features": {"country": {"new_category_share": 0}}}
    assert api.put("/models/dq/data-quality/rules", json=rules).status_code == 201
    at = NOW - timedelta(minutes=5)
    features = [{"amount": None, "country": "us"}, {"amount": 20.0, "country": "fr"}]
    _log(api, "dq", [0, 1], [0, 1], at, features=features)
    alerts = eventually(lambda: _alerts(api, "dq"), lambda a: len(a) >= 2)
    labels = sorted((a["labels"]["feature"], a["labels"]["check"]) for a in alerts)
    assert labels == [("amount", "missing_share"), ("country", "new_category_share")]
    # Logged records carry a prediction; the reference has none: not unexpected.
    end = (NOW + timedelta(seconds=1)).isoformat()
    window = api.post("/models/dq/data-quality/analyze", json={"end": end}).json()
    assert window["current_rows"] == 2
    assert window["unexpected_features"] == []
    assert api.get("/models/dq/data-quality/rules").json()["window"] == 3600.0


def test_data_quality_without_a_reference_is_409_as_drift_analyze(api: httpx.Client) -> None:
    response = api.post(
        "/models/none/data-quality/analyze", json={"current": {"rows": [{"a": 1.0}]}}
    )
    assert response.status_code == 409
    assert "reference" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/models/m/quality?interval=soon", None, "interval"),
        ("GET", "/models/m/quality?start=2026-11-22T13:00:00Z", None, "start"),
        ("GET", "/models/m/quality?interval=1s", None, "interval"),  # 3,600 windows
        ("GET", "/models/m/quality?metric=speed", None, "metric"),
        ("POST", "/models/dq/data-quality/analyze", [], "body"),
        ("POST", "/models/dq/data-quality/analyze", {"current": []}, "current"),
        ("POST", "/models/dq/data-quality/analyze", {"current": {"rows": "x"}}, "current.rows"),
        ("POST", "/models/dq/data-quality/analyze", {"start": "yesterday"}, "start"),
        ("POST", "/models/dq/data-quality/analyze", {"end": -5}, "end"),
        ("PUT", "/models/dq/data-quality/rules", {"default": {"missing_share": 2}}, "default"),
        ("PUT", "/models/dq/data-quality/rules", {"features": []}, "features"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    api: httpx.Client, method: str, path: str, body: object, field: str
) -> None:
    api.put("/models/dq/reference", json=REFERENCE)
    response = api.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_openapi_documents_the_quality_endpoints(live_server: LiveServer) -> None:
    doc = httpx.get(f"{live_server.url}/openapi.json", timeout=30).json()
    paths = doc["paths"]
    config = paths["/api/v1/models/{model_id}/quality-config"]["put"]
    schema = config["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"task", "interval", "thresholds"}
    for path in (
        "/api/v1/models/{model_id}/quality",
        "/api/v1/models/{model_id}/data-quality/analyze",
        "/api/v1/models/{model_id}/data-quality/rules",
        "/api/v1/models/{model_id}/drift-schedule",
        "/api/v1/models/{model_id}/drift/report.html",
    ):
        assert path in paths


def test_quality_settings_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    settings = make_settings(tmp_path / "kept", quality_check_interval_s=CHECK_INTERVAL_S)
    config = {"task": "regression", "interval": 600, "thresholds": {"mae_max": 3.0}}
    rules = {"window": "2h", "default": {"missing_share": 0.1}}
    schedule = {"window": "1h", "interval": "15m", "stattest": "psi"}
    with run_server(settings, clock=clock) as live, httpx.Client(base_url=live.api) as api:
        assert api.put("/models/m/quality-config", json=config).status_code == 201
        assert api.put("/models/m/data-quality/rules", json=rules).status_code == 201
        assert api.put("/models/m/drift-schedule", json=schedule).status_code == 201
    with run_server(settings, clock=clock) as live, httpx.Client(base_url=live.api) as api:
        assert api.get("/models/m/quality-config").json() == config | {"interval": 600.0}
        assert api.get("/models/m/data-quality/rules").json() == {
            "window": 7200.0,
            "default": {"missing_share": 0.1},
            "features": {},
        }
        kept = api.get("/models/m/drift-schedule").json()
        assert (kept["window"], kept["interval"], kept["stattest"]) == (3600.0, 900.0, "psi")
