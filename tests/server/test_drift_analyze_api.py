"""API.md's ``POST /models/{id}/drift/analyze``: the DriftReport's shape, planted
drift found and clean data left alone, overrides, prediction and target drift with
labels joined by request id, the refusals, and the drift metrics and alerts an
analysis leaves behind."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest

from monitorx.core import FakeClock

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
HOUR = datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp()
REPORT_KEYS = {
    "model_id", "reference_rows", "current_rows", "dataset_drift", "share_drifted", "features",
}  # fmt: skip
FEATURE_KEYS = {"feature", "kind", "stattest", "statistic", "p_value", "threshold", "drifted"}


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


def _rows(count: int, seed: int, shift: float = 0.0, tilt: bool = False) -> list[dict[str, object]]:
    """Rows of two numerical and one categorical feature; ``shift`` moves ``income``,
    ``tilt`` makes ``segment`` mostly "c"."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50.0 + shift, 10.0, count)
    age = rng.normal(40.0, 8.0, count)
    weights = [0.1, 0.1, 0.8] if tilt else [0.4, 0.4, 0.2]
    segment = rng.choice(["a", "b", "c"], size=count, p=weights)
    return [
        {"income": float(i), "age": float(a), "segment": str(s)}
        for i, a, s in zip(income, age, segment, strict=True)
    ]


def _analyze(api: httpx.Client, model_id: str = "m", **body: object) -> httpx.Response:
    return api.post(f"/models/{model_id}/drift/analyze", json=body)


def test_report_has_api_md_shape_and_finds_planted_drift(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": _rows(5000, seed=1)})

    response = _analyze(api, current={"rows": _rows(3000, seed=2, shift=8.0, tilt=True)})

    assert response.status_code == 200, response.text
    report = response.json()
    assert report.keys() >= REPORT_KEYS
    assert report["model_id"] == "m"
    assert report["reference_rows"] == 5000
    assert report["current_rows"] == report["current_rows_seen"] == 3000
    by_name = {f["feature"]: f for f in report["features"]}
    assert set(by_name) == {"income", "age", "segment"}
    for item in report["features"]:
        assert set(item) >= FEATURE_KEYS
    # API.md's automatic choice for references over 1,000 rows.
    assert by_name["income"]["kind"] == "numerical"
    assert by_name["income"]["stattest"] == "wasserstein"
    assert by_name["segment"]["kind"] == "categorical"
    assert by_name["segment"]["stattest"] == "jensenshannon"
    assert by_name["income"]["drifted"] is True
    assert by_name["segment"]["drifted"] is True
    assert by_name["age"]["drifted"] is False
    assert report["share_drifted"] == pytest.approx(2 / 3)
    assert report["dataset_drift"] is True


def test_data_from_the_reference_distribution_shows_no_drift(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": _rows(800, seed=1)})

    report = _analyze(api, current={"rows": _rows(800, seed=3)}).json()

    # Reference ≤ 1,000 rows: p-value tests.
    assert {f["stattest"] for f in report["features"]} == {"ks", "chisquare"}
    assert all(f["p_value"] is not None for f in report["features"])
    assert report["dataset_drift"] is False
    assert report["share_drifted"] < 0.5


def test_stattest_and_threshold_override_the_automatic_choice(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": _rows(2000, seed=1)})
    current = {"rows": _rows(1000, seed=2, shift=1.0)}

    report = _analyze(api, current=current, stattest="psi", threshold=0.5).json()

    assert {f["stattest"] for f in report["features"]} == {"psi"}
    assert {f["threshold"] for f in report["features"]} == {0.5}
    assert all(f["p_value"] is None for f in report["features"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stattest": "nope"}, "stattest"),
        ({"stattest": 5}, "stattest"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"start": "not a time"}, "start"),
        ({"end": -5}, "end"),
        ({"start": HOUR + 60, "end": HOUR}, "start"),
        ({"current": {"rows": []}}, "current.rows"),
        ({"current": [1]}, "current"),
        ({"current": {"rows": [{"income": "x"}, {"income": 1}]}}, "current.rows[1].income"),
        ({"windw": "1h"}, "windw"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    api.put("/models/m/reference", json={"rows": _rows(100, seed=1)})

    response = _analyze(api, **body)

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_non_finite_current_values_are_422(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": _rows(100, seed=1)})
    body = b'{"current": {"rows": [{"income": 1}, {"income": NaN}]}}'

    response = api.post(
        "/models/m/drift/analyze", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "current.rows[1].income"


def test_unknown_model_is_404_and_missing_data_is_409(api: httpx.Client) -> None:
    assert _analyze(api, "ghost").status_code == 404

    api.put("/models/registered", json={"model_type": "tabular"})
    no_reference = _analyze(api, "registered", current={"rows": _rows(10, seed=1)})
    assert no_reference.status_code == 409
    assert "reference" in no_reference.json()["detail"]

    api.put("/models/registered/reference", json={"rows": _rows(100, seed=1)})
    no_records = _analyze(api, "registered")
    assert no_records.status_code == 409
    assert "no records" in no_records.json()["detail"]


def test_logged_records_are_analyzed_with_prediction_and_target_drift(
    api: httpx.Client,
) -> None:
    reference = _rows(3000, seed=1)
    rng = np.random.default_rng(5)
    for row in reference:
        row["prediction"] = float(rng.random())
        row["label"] = int(rng.random() < 0.2)
    api.put("/models/m/reference", json={"rows": reference})
    current = _rows(2000, seed=2)
    records = [
        {
            "request_id": f"r{i}",
            "features": row,
            "prediction": float(rng.random()) * 0.5 + 0.5,  # predictions moved up
            "timestamp": HOUR + i,
        }
        for i, row in enumerate(current)
    ]
    api.post("/models/m/records", json=records)
    # Labels for every record, mostly positive now; some arrive twice (the last wins).
    labels = [{"request_id": f"r{i}", "label": 0} for i in range(0, 2000, 2)]
    labels += [{"request_id": f"r{i}", "label": 1} for i in range(2000)]
    api.post("/models/m/labels", json=labels)

    report = _analyze(api, start=HOUR, end=HOUR + 3600).json()

    assert report["current_rows"] == report["current_rows_seen"] == 2000
    assert report["dataset_drift"] is False
    assert report["prediction"]["feature"] == "prediction"
    assert report["prediction"]["drifted"] is True
    assert report["target"]["feature"] == "label"
    assert report["target"]["drifted"] is True
    # Prediction and target are reported beside the features, not among them.
    assert {f["feature"] for f in report["features"]} == {"income", "age", "segment"}


def test_records_without_labels_have_no_target_drift(api: httpx.Client) -> None:
    reference = [{**row, "label": 1} for row in _rows(500, seed=1)]
    api.put("/models/m/reference", json={"rows": reference})
    records = [{"features": row, "timestamp": HOUR + i} for i, row in enumerate(_rows(200, 2))]
    api.post("/models/m/records", json=records)

    report = _analyze(api, start=HOUR, end=HOUR + 3600).json()

    assert report["target"] is None
    assert report["prediction"] is None


def test_window_defaults_to_the_hour_before_now(api: httpx.Client) -> None:
    api.put("/models/m/reference", json={"rows": _rows(500, seed=1)})
    now = NOW.timestamp()
    old = [{"features": r, "timestamp": now - 7200 + i} for i, r in enumerate(_rows(50, 2))]
    recent = [{"features": r, "timestamp": now - 600 + i} for i, r in enumerate(_rows(70, 3))]
    api.post("/models/m/records", json=old + recent)

    assert _analyze(api).json()["current_rows_seen"] == 70


def test_an_analysis_is_stored_as_drift_metrics_and_raises_drift_alerts(
    api: httpx.Client,
) -> None:
    api.put("/models/m", json={"model_type": "tabular", "thresholds": {"drift_confidence": 0.8}})
    api.put("/models/m/reference", json={"rows": _rows(2000, seed=1)})

    _analyze(api, current={"rows": _rows(1000, seed=2, shift=10.0)})

    window = {"model_id": "m", "start": "2026-11-22T00:00:00Z", "end": "2026-11-23T00:00:00Z"}
    metrics = api.get("/metrics/drift", params=window).json()
    by_kind = {(m["drift_type"], m["feature"]): m for m in metrics}
    assert by_kind[("data", None)]["score"] == pytest.approx(1 / 3)
    assert by_kind[("feature", "income")]["confidence"] == 1.0
    assert by_kind[("feature", "age")]["confidence"] < 1.0  # statistic / threshold
    assert {m["timestamp"] for m in metrics} == {"2026-11-22T12:30:00Z"}
    deadline = time.monotonic() + 2.0
    alerts: list[dict[str, object]] = []
    while not alerts and time.monotonic() < deadline:
        alerts = api.get("/alerts", params={"model_id": "m", "alert_type": "drift"}).json()
        time.sleep(0.02)
    assert alerts and alerts[0]["status"] == "firing"
    assert alerts[0]["value"] > 0.8
