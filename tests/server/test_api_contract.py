"""API.md, row by row, over HTTP against a running server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

NOW = datetime.now(UTC).replace(microsecond=0)
NOON_EPOCH = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp())


def _ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


def _wait_for_alerts(api: httpx.Client, count: int = 1, **params: str) -> list[dict[str, object]]:
    """Poll for up to a second: API.md promises a firing alert within one."""
    deadline = time.monotonic() + 1.0
    while True:
        alerts: list[dict[str, object]] = api.get("/alerts", params=params).json()
        if len(alerts) >= count or time.monotonic() > deadline:
            return alerts
        time.sleep(0.02)


# Models ------------------------------------------------------------------------------


def test_post_model_fills_the_defaults(api: httpx.Client) -> None:
    response = api.post("/models", json={"id": "fraud-v3", "model_type": "tabular"})
    assert response.status_code == 201
    assert response.json() == {
        "id": "fraud-v3",
        "name": "fraud-v3",
        "model_type": "tabular",
        "version": "1",
        "environment": "prod",
        "thresholds": {},
        "tags": {},
    }


def test_post_existing_model_is_409(api: httpx.Client) -> None:
    api.post("/models", json={"id": "m", "model_type": "cv"})
    response = api.post("/models", json={"id": "m", "model_type": "llm"})
    assert response.status_code == 409
    assert api.get("/models/m").json()["model_type"] == "cv"


def test_put_creates_then_replaces(api: httpx.Client) -> None:
    first = api.put("/models/m", json={"model_type": "cv", "thresholds": {"latency_ms": 10}})
    second = api.put("/models/m", json={"id": "m", "model_type": "llm", "version": "2.0"})
    assert (first.status_code, second.status_code) == (201, 200)
    stored = api.get("/models/m").json()
    assert stored["model_type"] == "llm"
    assert stored["version"] == "2.0"
    assert stored["thresholds"] == {}


def test_put_with_a_different_body_id_is_422(api: httpx.Client) -> None:
    response = api.put("/models/m", json={"id": "other", "model_type": "cv"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id"


def test_list_models_filters_by_environment_and_type(api: httpx.Client) -> None:
    api.post("/models", json={"id": "a", "model_type": "cv", "environment": "dev"})
    api.post("/models", json={"id": "b", "model_type": "llm", "environment": "prod"})
    api.post("/models", json={"id": "c", "model_type": "cv", "environment": "prod"})

    def ids(params: dict[str, str]) -> list[str]:
        return [m["id"] for m in api.get("/models", params=params).json()]

    assert ids({}) == ["a", "b", "c"]
    assert ids({"environment": "prod"}) == ["b", "c"]
    assert ids({"model_type": "cv", "environment": "prod"}) == ["c"]


def test_unknown_model_is_404(api: httpx.Client) -> None:
    assert api.get("/models/nope").status_code == 404
    assert api.delete("/models/nope").status_code == 404


def test_delete_keeps_metrics_unless_purged(api: httpx.Client) -> None:
    for model in ("keep", "purge"):
        api.post("/models", json={"id": model, "model_type": "cv"})
        api.post("/metrics/inference", json={"model_id": model, "latency": 5})
    assert api.delete("/models/keep").status_code == 204
    assert api.delete("/models/purge", params={"purge": "true"}).status_code == 204
    assert api.get("/models/keep").status_code == 404
    kept = api.get("/metrics/inference", params={"model_id": "keep"}).json()
    purged = api.get("/metrics/inference", params={"model_id": "purge"}).json()
    assert (len(kept), len(purged)) == (1, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "a b", "model_type": "cv"}, "id"),
        ({"id": "x" * 129, "model_type": "cv"}, "id"),
        ({"id": "m", "model_type": "audio"}, "model_type"),
        ({"id": "m"}, "model_type"),
        ({"id": "m", "model_type": "cv", "environment": "qa"}, "environment"),
        (
            {"id": "m", "model_type": "cv", "thresholds": {"error_rate": 1.5}},
            "thresholds.error_rate",
        ),
        (
            {"id": "m", "model_type": "cv", "thresholds": {"latency_ms": -1}},
            "thresholds.latency_ms",
        ),
        ({"id": "m", "model_type": "cv", "version": "v" * 65}, "version"),
        ({"id": "m", "model_type": "cv", "name": "n" * 257}, "name"),
    ],
)
def test_invalid_models_are_422_naming_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = api.post("/models", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert api.get("/models").json() == []


def test_nan_threshold_is_422_with_a_json_body(api: httpx.Client) -> None:
    response = api.post(
        "/models",
        content=b'{"id": "m", "model_type": "cv", "thresholds": {"latency_ms": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


# Inference metrics -------------------------------------------------------------------


def test_single_metric_is_accepted_and_listed(api: httpx.Client) -> None:
    metric = {
        "model_id": "m",
        "model_type": "tabular",
        "request_id": "req-1",
        "latency": 41.7,
        "throughput": 230.0,
        "error_rate": 0.0,
        "resource_usage": {"gpu_memory_mb": 10240, "cpu_percent": 35.5},
        "tags": {"region": "eu"},
        "timestamp": _ts(5),
    }
    response = api.post("/metrics/inference", json=metric)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1}
    (stored,) = api.get("/metrics/inference", params={"model_id": "m"}).json()
    assert stored["request_id"] == "req-1"
    assert stored["latency"] == 41.7
    assert stored["resource_usage"] == {"gpu_memory_mb": 10240.0, "cpu_percent": 35.5}
    assert stored["tags"] == {"region": "eu"}
    assert stored["timestamp"] == _ts(5)


def test_batch_stores_valid_items_and_names_the_rejected(api: httpx.Client) -> None:
    batch = [
        {"model_id": "m", "latency": 1},
        {"model_id": "m", "latency": -1},
        {"model_id": "m", "latency": 3, "error_rate": 2},
        {"model_id": "m", "latency": 4},
    ]
    response = api.post("/metrics/inference/batch", json=batch)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["error"].startswith("latency")
    assert body["rejected"][1]["error"].startswith("error_rate")
    stored = api.get("/metrics/inference", params={"model_id": "m"}).json()
    assert sorted(m["latency"] for m in stored) == [1.0, 4.0]


def test_batch_with_no_valid_item_is_422_and_stores_nothing(api: httpx.Client) -> None:
    response = api.post("/metrics/inference/batch", json=[{"model_id": "m", "latency": -1}])
    assert response.status_code == 422
    assert api.get("/metrics/inference").json() == []


@pytest.mark.parametrize(("items", "status"), [(0, 422), (10_001, 413)])
def test_empty_and_oversized_batches_are_refused(
    api: httpx.Client, items: int, status: int
) -> None:
    response = api.post("/metrics/inference/batch", json=[{"model_id": "m", "latency": 1}] * items)
    assert response.status_code == status
    assert api.get("/metrics/inference").json() == []


def test_body_over_10_mb_is_413(api: httpx.Client) -> None:
    body = b'[{"model_id": "m", "latency": 1, "tags": {"k": "' + b"x" * (11 * 1024 * 1024) + b'"}}]'
    response = api.post(
        "/metrics/inference/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_list_is_newest_first_with_inclusive_start_and_exclusive_end(api: httpx.Client) -> None:
    batch = [{"model_id": "m", "latency": float(s), "timestamp": _ts(s)} for s in (30, 20, 10)]
    api.post("/metrics/inference/batch", json=batch)
    listed = api.get(
        "/metrics/inference", params={"model_id": "m", "start": _ts(30), "end": _ts(10)}
    ).json()
    assert [m["latency"] for m in listed] == [20.0, 30.0]
    limited = api.get("/metrics/inference", params={"model_id": "m", "limit": 1}).json()
    assert [m["latency"] for m in limited] == [10.0]


@pytest.mark.parametrize("limit", [0, 10_001, -5, "many"])
def test_limit_outside_1_to_10000_is_422(api: httpx.Client, limit: object) -> None:
    response = api.get("/metrics/inference", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-11-22T12:00:00Z", "2026-11-22T12:00:00Z"),
        ("2026-11-22T14:00:00+02:00", "2026-11-22T12:00:00Z"),
        ("2026-11-22T12:00:00", "2026-11-22T12:00:00Z"),
        (NOON_EPOCH, "2026-11-22T12:00:00Z"),
        (NOON_EPOCH + 0.25, "2026-11-22T12:00:00.250000Z"),
    ],
)
def test_timestamps_in_every_accepted_form_come_back_as_utc(
    api: httpx.Client, timestamp: object, expected: str
) -> None:
    api.post("/metrics/inference", json={"model_id": "m", "latency": 1, "timestamp": timestamp})
    (stored,) = api.get(
        "/metrics/inference", params={"model_id": "m", "start": 0, "end": "2030-01-01T00:00:00Z"}
    ).json()
    assert stored["timestamp"] == expected


# Aggregates ---------------------------------------------------------------------------


def test_aggregates_match_numpy_per_bucket(api: httpx.Client) -> None:
    rng = np.random.default_rng(5)
    base = int(NOW.timestamp()) // 600 * 600 - 1800  # three whole 10-minute buckets
    offsets = rng.integers(0, 1800, 300)
    latency = rng.lognormal(3, 0.6, 300)
    batch = [
        {"model_id": "m", "latency": float(v), "timestamp": base + int(o)}
        for v, o in zip(latency, offsets, strict=True)
    ]
    api.post("/metrics/inference/batch", json=batch)
    buckets = (base + offsets) // 600 * 600
    for agg, fn in [
        ("count", len),
        ("mean", np.mean),
        ("min", np.min),
        ("max", np.max),
        ("p50", lambda v: np.percentile(v, 50)),
        ("p90", lambda v: np.percentile(v, 90)),
        ("p95", lambda v: np.percentile(v, 95)),
        ("p99", lambda v: np.percentile(v, 99)),
    ]:
        got = api.get(
            "/metrics/aggregate",
            params={
                "model_id": "m",
                "agg": agg,
                "interval": "10m",
                "start": base,
                "end": base + 1800,
            },
        ).json()
        expected = [(int(b), fn(latency[buckets == b])) for b in np.unique(buckets)]
        assert [int(datetime.fromisoformat(g["time"]).timestamp()) for g in got] == [
            b for b, _ in expected
        ], agg
        assert [g["value"] for g in got] == pytest.approx([v for _, v in expected]), agg


def test_aggregate_omits_empty_buckets_and_points_without_the_metric(api: httpx.Client) -> None:
    base = int(NOW.timestamp()) // 60 * 60 - 600
    api.post(
        "/metrics/inference/batch",
        json=[
            {
                "model_id": "m",
                "latency": 1,
                "resource_usage": {"cpu_percent": 20},
                "timestamp": base,
            },
            {"model_id": "m", "latency": 1, "timestamp": base + 5},
            {
                "model_id": "m",
                "latency": 1,
                "resource_usage": {"cpu_percent": 40},
                "timestamp": base + 300,
            },
        ],
    )
    params = {
        "model_id": "m",
        "metric": "cpu_percent",
        "interval": 60,
        "start": base,
        "end": base + 600,
    }
    mean = api.get("/metrics/aggregate", params={**params, "agg": "mean"}).json()
    count = api.get("/metrics/aggregate", params={**params, "agg": "count"}).json()
    assert [b["value"] for b in mean] == [20.0, 40.0]
    assert [b["value"] for b in count] == [1.0, 1.0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "model_id"),
        ({"model_id": "m", "interval": 0}, "interval"),
        ({"model_id": "m", "interval": "401d"}, "interval"),
        ({"model_id": "m", "metric": "vibes"}, "metric"),
        ({"model_id": "m", "agg": "p42"}, "agg"),
        ({"model_id": "m", "start": "yesterday"}, "start"),
        ({"model_id": "m", "end": -1}, "end"),
    ],
)
def test_bad_aggregate_parameters_are_422(
    api: httpx.Client, params: dict[str, object], field: str
) -> None:
    response = api.get("/metrics/aggregate", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
