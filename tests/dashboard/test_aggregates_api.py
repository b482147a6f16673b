"""`GET /api/v1/metrics/aggregates`: many models' buckets in one request, equal to
asking `/metrics/aggregate` once per model."""

from __future__ import annotations

import httpx
import pytest

T0 = 1_790_000_000  # a multiple of 60 s


def test_each_models_series_equals_the_single_model_aggregate(api: httpx.Client) -> None:
    metrics = [
        {"model_id": model, "latency": latency, "timestamp": T0 + offset}
        for model, latency, offset in [
            ("a", 10.0, 0),
            ("a", 30.0, 10),
            ("a", 50.0, 70),
            ("b", 5.0, 125),
        ]
    ]
    assert api.post("/metrics/inference/batch", json=metrics).status_code == 202
    window = {"interval": 60, "start": T0, "end": T0 + 600, "agg": "p50"}
    both = api.get("/metrics/aggregates", params={"model_id": ["a", "b", "nobody"], **window})
    assert both.status_code == 200
    body = both.json()
    assert body["interval"] == 60
    for model in ("a", "b", "nobody"):
        single = api.get("/metrics/aggregate", params={"model_id": model, **window}).json()
        assert body["series"][model] == single
    assert [p["value"] for p in body["series"]["a"]] == [20.0, 50.0]
    assert body["series"]["nobody"] == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"model_id": [f"m{i}" for i in range(51)]},
        {"model_id": "bad id"},
        {"model_id": "a", "agg": "p42"},
        {"model_id": "a", "interval": "0"},
    ],
)
def test_bad_requests_are_422(api: httpx.Client, params: dict[str, object]) -> None:
    assert api.get("/metrics/aggregates", params=params).status_code == 422  # type: ignore[arg-type]
